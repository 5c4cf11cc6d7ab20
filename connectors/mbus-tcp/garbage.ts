/**
 * Cuts the framer's garbage into what the gateway sent. The framer reports skipped bytes per chunk
 * read, and consecutive ones as one run, so one damaged frame can come out in many runs (a gateway
 * that forwards each serial byte as it arrives) and several damaged frames in a row as one run.
 * Answering each frame once needs each on its own. Pure.
 */

const LONG_START = 0x68;
// `68 L L 68 C A CI … CS 16`: L counts C to the end of the data; six bytes frame it.
const LONG_FRAME_OVERHEAD = 6;
const MIN_L = 3;
/** The longest telegram; a piece of noise is cut at this length, so a flood is judged piece by piece. */
const MAX_PIECE = 255 + LONG_FRAME_OVERHEAD;
const EMPTY = new Uint8Array(0);

/** Bytes the framer skipped that belong together. */
export interface GarbagePiece {
  readonly bytes: Uint8Array;
  /**
   * The piece begins with a long-frame header (`68 ? ? 68`): it is a frame the gateway sent, even
   * if its L fields are wrong. Noise has such a header by chance once in 65536 positions.
   */
  readonly framed: boolean;
}

/**
 * Splits garbage into pieces: one per long-frame header, running for the length its L fields
 * announce or up to the next header, whichever comes first; bytes before the first header are one
 * piece of noise. Feed it every garbage run in stream order with {@link push}, and call
 * {@link flush} when anything else follows (a telegram, the end of the stream): until then the last
 * piece may go on in the next run, so it is held (at most {@link MAX_PIECE} bytes and a header's).
 */
export class GarbageSplitter {
  private held: Uint8Array = EMPTY;

  /** Takes the next garbage run; returns the pieces that are complete. */
  push(run: Uint8Array): GarbagePiece[] {
    const bytes = this.held.length === 0 ? run : Buffer.concat([this.held, run]);
    this.held = EMPTY;
    const pieces: GarbagePiece[] = [];
    let start = 0;
    while (start < bytes.length) {
      const framed = startsLongFrame(bytes, start);
      const announced = framed ? announcedLength(bytes, start) : undefined;
      const next = nextHeader(bytes, start + 1);
      const frameEnd = announced === undefined ? undefined : start + announced;
      let end: number;
      if (frameEnd !== undefined && frameEnd <= (next ?? bytes.length)) {
        end = frameEnd;
      } else if (next !== undefined) {
        end = next;
      } else if (bytes.length - start >= MAX_PIECE + 3 && frameEnd === undefined) {
        // No header starts in this stretch (the last three bytes aside, which stay held), so it
        // can be cut anywhere.
        end = start + MAX_PIECE;
      } else {
        this.held = bytes.subarray(start);
        break;
      }
      pieces.push({ bytes: bytes.subarray(start, end), framed });
      start = end;
    }
    return pieces;
  }

  /** The garbage has ended: a held piece is complete as it is. */
  flush(): GarbagePiece[] {
    const held = this.held;
    this.held = EMPTY;
    return held.length === 0 ? [] : [{ bytes: held, framed: startsLongFrame(held, 0) }];
  }
}

function startsLongFrame(bytes: Uint8Array, at: number): boolean {
  return bytes[at] === LONG_START && bytes[at + 3] === LONG_START;
}

function nextHeader(bytes: Uint8Array, from: number): number | undefined {
  for (let at = from; at < bytes.length; at++) if (startsLongFrame(bytes, at)) return at;
  return undefined;
}

/** The whole frame's length when both L fields agree and are plausible, else `undefined`. */
function announcedLength(bytes: Uint8Array, at: number): number | undefined {
  const l = bytes[at + 1]!;
  return l === bytes[at + 2] && l >= MIN_L ? l + LONG_FRAME_OVERHEAD : undefined;
}
