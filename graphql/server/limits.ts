/**
 * Static limits checked before an operation runs (HTTP and WebSocket alike): selection depth, and
 * a complexity estimate in which every field costs 1 and a list field multiplies its selection by
 * the page size it asks for (`first`, else the field's page-size cap). Both count fragments where
 * they are spread, so fragments cannot hide cost.
 */
import {
  GraphQLError,
  Kind,
  getNamedType,
  isListType,
  isNonNullType,
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLOutputType,
  type GraphQLField,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
  type ValueNode,
  GraphQLObjectType,
  GraphQLInterfaceType,
} from 'graphql/index.js';

/** Operation limits; the defaults suit analysts' queries and wallboards. */
export interface OperationLimits {
  /** @default 12 */
  readonly maxDepth: number;
  /** @default 50000 */
  readonly maxComplexity: number;
  /** Page size assumed for `first: $variable` without a default. @default 100 */
  readonly defaultPageSize: number;
  /** Items assumed for a plain list field (a device's registers, a map's features). @default 20 */
  readonly listSize: number;
}

export const DEFAULT_LIMITS: OperationLimits = { maxDepth: 12, maxComplexity: 50_000, defaultPageSize: 100, listSize: 20 };

/** The validation rule enforcing `limits`; added to Apollo's and graphql-ws's validation. */
export function limitsRule(limits: OperationLimits = DEFAULT_LIMITS) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    return {
      OperationDefinition(node) {
        const root =
          node.operation === 'query'
            ? context.getSchema().getQueryType()
            : node.operation === 'mutation'
              ? context.getSchema().getMutationType()
              : context.getSchema().getSubscriptionType();
        if (!root) return;
        const variables = context.getDocument() && collectVariables(node.variableDefinitions ?? []);
        const measure = measureSelection(context.getSchema(), root, node.selectionSet, fragments, limits, variables, 1, new Set());
        if (measure.depth > limits.maxDepth) {
          context.reportError(
            new GraphQLError(`the operation is ${measure.depth} levels deep; the limit is ${limits.maxDepth}`, {
              nodes: [node],
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          );
        }
        if (measure.complexity > limits.maxComplexity) {
          context.reportError(
            new GraphQLError(
              `the operation's estimated cost is ${measure.complexity}; the limit is ${limits.maxComplexity} (ask for smaller pages)`,
              { nodes: [node], extensions: { code: 'QUERY_TOO_COMPLEX' } },
            ),
          );
        }
      },
    };
  };
}

/** Default values of variables, for `first: $n`; unknown variables count as the default page size. */
function collectVariables(definitions: readonly { variable: { name: { value: string } }; defaultValue?: ValueNode }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const definition of definitions) {
    const value = definition.defaultValue;
    if (value?.kind === Kind.INT) out.set(definition.variable.name.value, Number(value.value));
  }
  return out;
}

interface Measure {
  readonly depth: number;
  readonly complexity: number;
}

function measureSelection(
  schema: GraphQLSchema,
  parent: GraphQLObjectType | GraphQLInterfaceType,
  selectionSet: SelectionSetNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  limits: OperationLimits,
  variables: ReadonlyMap<string, number>,
  depth: number,
  visiting: Set<string>,
): Measure {
  let maxDepth = depth;
  let complexity = 0;
  const add = (m: Measure): void => {
    maxDepth = Math.max(maxDepth, m.depth);
    complexity += m.complexity;
  };
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      add(measureField(schema, parent, selection, fragments, limits, variables, depth, visiting));
    } else {
      let set: SelectionSetNode | undefined;
      let target: GraphQLObjectType | GraphQLInterfaceType = parent;
      let name: string | undefined;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        set = selection.selectionSet;
        const condition = selection.typeCondition && schema.getType(selection.typeCondition.name.value);
        if (condition instanceof GraphQLObjectType || condition instanceof GraphQLInterfaceType) target = condition;
      } else {
        name = selection.name.value;
        // A fragment cycle is reported by graphql's own NoFragmentCycles rule.
        if (visiting.has(name)) continue;
        const fragment = fragments.get(name);
        set = fragment?.selectionSet;
        const condition = fragment && schema.getType(fragment.typeCondition.name.value);
        if (condition instanceof GraphQLObjectType || condition instanceof GraphQLInterfaceType) target = condition;
      }
      if (!set) continue;
      if (name) visiting.add(name);
      add(measureSelection(schema, target, set, fragments, limits, variables, depth, visiting));
      if (name) visiting.delete(name);
    }
  }
  return { depth: maxDepth, complexity };
}

function measureField(
  schema: GraphQLSchema,
  parent: GraphQLObjectType | GraphQLInterfaceType,
  node: FieldNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  limits: OperationLimits,
  variables: ReadonlyMap<string, number>,
  depth: number,
  visiting: Set<string>,
): Measure {
  const field: GraphQLField<unknown, unknown> | undefined = parent.getFields()[node.name.value];
  if (!field || !node.selectionSet) return { depth, complexity: 1 };
  const named = getNamedType(field.type);
  const child =
    named instanceof GraphQLObjectType || named instanceof GraphQLInterfaceType
      ? measureSelection(schema, named, node.selectionSet, fragments, limits, variables, depth + 1, visiting)
      : { depth: depth + 1, complexity: 0 };
  return { depth: child.depth, complexity: 1 + multiplier(field, node, limits, variables) * child.complexity };
}

/**
 * How many items a field returns at most: its `first` (literal, variable default, or the
 * argument's schema default); a connection's `edges` are already counted by the connection; other
 * lists count as {@link OperationLimits.listSize}.
 */
function multiplier(field: GraphQLField<unknown, unknown>, node: FieldNode, limits: OperationLimits, variables: ReadonlyMap<string, number>): number {
  const pageArg = node.arguments?.find((arg) => arg.name.value === 'first');
  if (pageArg) {
    if (pageArg.value.kind === Kind.INT) return Math.max(1, Number(pageArg.value.value));
    if (pageArg.value.kind === Kind.VARIABLE) return variables.get(pageArg.value.name.value) ?? limits.defaultPageSize;
  }
  const first = field.args.find((arg) => arg.name === 'first');
  if (first) return typeof first.defaultValue === 'number' ? first.defaultValue : limits.defaultPageSize;
  if (field.name === 'edges') return 1;
  return isList(field.type) ? limits.listSize : 1;
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}
