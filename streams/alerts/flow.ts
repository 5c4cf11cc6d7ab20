/**
 * CONTINUOUS_FLOW: water or gas never at zero for a whole hour over `continuousFlowHours` (24 by
 * default): a leak, a running tap, a gas appliance left on. Pure.
 *
 * ## What counts as evidence
 *
 * Readings are points in time, so the rule asks what they *prove*:
 *
 * - Two successive readings of a cumulative volume register with the later one higher (or flagged
 *   ROLLOVER) prove that something flowed at some instant between them: an *evidence interval*
 *   [t₁, t₂]. Equal values prove that nothing flowed in between (the register stood still).
 * - An instantaneous flow reading (`volume_flow`) above zero proves flow at its instant: the
 *   evidence interval [t, t].
 *
 * A whole-hour pause is impossible between two evidence intervals E₁ = [a₁, b₁] and
 * E₂ = [a₂, b₂] (successive in time) exactly when b₂ − a₁ < 1 h: even if the flow in E₁ was at a₁
 * and the flow in E₂ at b₂, less than an hour lies between them. A *run* is a chain of evidence
 * intervals in which every successive pair satisfies this (and a single interval shorter than an
 * hour starts one); over a run, flow is proven never to have paused for a whole hour. The run lasts
 * from the start of its first interval to the end of its last.
 *
 * ## The rule
 *
 * - **Raised** (CRITICAL) when a run lasts `continuousFlowHours` or more; **updated** for every
 *   further whole `continuousFlowHours` it lasts.
 * - **Cleared** when a pause of at least an hour is proven: the register stood still (equal
 *   readings) for an hour or more, or every flow reading over an hour or more was zero (the
 *   strongest statement instantaneous readings make).
 * - **Sparse readings are undeterminable**: readings an hour or more apart can hide a pause, so they
 *   neither start nor extend a run, nor clear an open alert. With readings every 15 minutes a run
 *   proves continuity; every 30 minutes exactly, it does not (a pause of 60 minutes fits).
 * - Readings are taken in `observedAt` order per register; one not later than the newest already
 *   used (a late or repeated value) is ignored, as is a quarantined one (SUSPECTED_RESET,
 *   OUT_OF_RANGE, clock flags). A register that went back without a flag breaks the run.
 */
import type { AlertLedger } from '../decode/alerts.js';
import { formatDuration } from './silence.js';

/** A whole-hour pause is what ends continuous flow. */
export const PAUSE_MS = 3_600_000;

/** What the rule keeps of one register. */
export interface FlowTrack {
  /** observedAt of the newest reading used, epoch ms. */
  readonly at: number;
  /** Its value, for cumulative registers. */
  readonly value?: number;
  /** The current run. */
  readonly run?: FlowRun;
  /** Since when the register has stood still (or flow read zero); undefined while it moves. */
  readonly stillSince?: number;
}

/** A chain of evidence intervals with no room for a whole-hour pause. */
export interface FlowRun {
  /** Start of its first evidence interval, epoch ms. */
  readonly from: number;
  /** Start and end of its last evidence interval. */
  readonly lastFrom: number;
  readonly to: number;
  /** Whole `continuousFlowHours` of this run already reported (raised, then updated). */
  readonly reported: number;
}

/** One usable reading of a watched register. */
export type FlowObservation =
  /** A cumulative volume register's value; `wrapped` when it rolled over since the previous one. */
  | { readonly kind: 'cumulative'; readonly at: number; readonly value: number; readonly wrapped: boolean }
  /** An instantaneous volume flow. */
  | { readonly kind: 'rate'; readonly at: number; readonly value: number };

/** The rule's parameter. */
export interface FlowRules {
  /** Hours of proven flow that make a leak (`ALERTS_CONTINUOUS_FLOW_HOURS`). */
  readonly continuousFlowHours: number;
}

/**
 * Folds one reading into a register's track: the evidence and stillness it proves. (Every track has
 * the same four fields, undefined ones included, which JSON leaves out: one shape keeps this hot
 * path fast.)
 */
export function observeFlow(track: FlowTrack | undefined, obs: FlowObservation): FlowTrack {
  if (track !== undefined && obs.at <= track.at) return track;
  const value = obs.kind === 'cumulative' ? obs.value : undefined;
  /** Start of the evidence interval this reading closes (it ends at obs.at). */
  let evidenceFrom: number | undefined;
  let stillSince: number | undefined;
  if (obs.kind === 'rate') {
    if (obs.value > 0) evidenceFrom = obs.at;
    else stillSince = track?.stillSince ?? obs.at;
  } else {
    if (track?.value === undefined) return { at: obs.at, value, run: undefined, stillSince: undefined };
    if (obs.wrapped || obs.value > track.value) evidenceFrom = track.at;
    else if (obs.value === track.value) stillSince = track.stillSince ?? track.at;
    // Went back without a wrap: nothing is known about the flow since the previous reading.
    else return { at: obs.at, value, run: undefined, stillSince: undefined };
  }
  if (stillSince !== undefined && obs.at - stillSince >= PAUSE_MS) return { at: obs.at, value, run: undefined, stillSince };
  const run = evidenceFrom === undefined ? track?.run : extend(track?.run, evidenceFrom, obs.at);
  return { at: obs.at, value, run, stillSince };
}

function extend(run: FlowRun | undefined, from: number, to: number): FlowRun | undefined {
  if (run !== undefined && to - run.lastFrom < PAUSE_MS) return { from: run.from, lastFrom: from, to, reported: run.reported };
  return to - from < PAUSE_MS ? { from, lastFrom: from, to, reported: 0 } : undefined;
}

/** Whether the track proves a pause of a whole hour (the register stood still that long). */
export function provesPause(track: FlowTrack): boolean {
  return track.stillSince !== undefined && track.at - track.stillSince >= PAUSE_MS;
}

/**
 * Raises, updates or clears CONTINUOUS_FLOW for one register after {@link observeFlow}; returns the
 * track with what was reported.
 */
export function trackContinuousFlow(ledger: AlertLedger, registerKey: string, unit: string, track: FlowTrack, rules: FlowRules): FlowTrack {
  const limitMs = rules.continuousFlowHours * PAUSE_MS;
  if (provesPause(track)) {
    ledger.clear({
      kind: 'CONTINUOUS_FLOW',
      subject: registerKey,
      severity: 'INFO',
      message: `${label(registerKey)} stood still for ${formatDuration(track.at - track.stillSince!)}`,
      at: track.at,
      details: { stillSince: new Date(track.stillSince!).toISOString() },
    });
    return track;
  }
  const run = track.run;
  if (run === undefined) return track;
  const periods = Math.floor((run.to - run.from) / limitMs);
  if (periods <= run.reported) return track;
  ledger.raiseOrUpdate({
    kind: 'CONTINUOUS_FLOW',
    subject: registerKey,
    severity: 'CRITICAL',
    message: `${label(registerKey)} advanced for ${formatDuration(run.to - run.from)} without a pause`,
    at: track.at,
    details: {
      flowingSince: new Date(run.from).toISOString(),
      flowingForMs: String(run.to - run.from),
      thresholdHours: String(rules.continuousFlowHours),
      ...(track.value === undefined ? {} : { lastValue: String(track.value), unit }),
    },
  });
  return { ...track, run: { ...run, reported: periods } };
}

function label(registerKey: string): string {
  return registerKey.startsWith('volume_flow') ? 'Flow' : `Register ${registerKey}`;
}
