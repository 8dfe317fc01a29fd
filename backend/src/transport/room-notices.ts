/**
 * Participant events of a room, coalesced under bursts. Every join, presence change and active-file
 * change is broadcast to the whole room, so N people joining one room within seconds cost N² frames
 * (measured: 500 users joining one room, 8.4 s and 7.5 server CPU seconds against 4.2 s and 3.8
 * for the same sockets as 50 users). Here a room's first participant event goes out at once, as
 * before; the ones that follow within `windowMs` wait until the window ends and go out as one
 * `participants` frame (PROTOCOL.md §11.7), so a burst costs each member one frame per window.
 *
 * Order is kept per room: any other event of the room (`participant:left`, `file:created`, ...)
 * first flushes what waits (`beforeOther`). A waiting event is delivered to the whole room, the
 * socket it was meant to skip included (a joiner then also hears that it came online: harmless,
 * the same record its join reply holds).
 */
import type { ParticipantChange, ParticipantEvent } from '@collab/protocol';

/** The participant events that may be coalesced. */
export type ParticipantEventName = ParticipantChange['event'];

/** How the notices reach the room (Socket.IO in production, recorders in tests). */
export interface RoomNoticeSink {
  /** One event to the room, skipping the socket `except` when given. */
  one(roomId: string, event: ParticipantEventName, payload: ParticipantEvent, except: string | undefined): void;
  /** Two or more events to the whole room, in order, as one frame. */
  many(roomId: string, changes: ParticipantChange[]): void;
}

/** Tuning of `RoomNotices`. */
export interface RoomNoticeOptions {
  /** The window (ms) after a room's last frame during which further events wait. @default 50 */
  readonly windowMs: number;
  /** Most events in one frame; a full batch goes out at once. @default 200 */
  readonly maxBatch: number;
}

const DEFAULTS: RoomNoticeOptions = { windowMs: 50, maxBatch: 200 };

interface RoomWindow {
  pending: ParticipantChange[];
  timer: NodeJS.Timeout;
}

/** Coalesces the participant events of each room (see the module comment). */
export class RoomNotices {
  /** Rooms that sent a frame less than `windowMs` ago, with what waits for the window's end. */
  private readonly windows = new Map<string, RoomWindow>();
  private readonly options: RoomNoticeOptions;

  constructor(
    private readonly sink: RoomNoticeSink,
    options: Partial<RoomNoticeOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** A participant event for the room: sent now when the room is quiet, else at the window's end. */
  participant(roomId: string, event: ParticipantEventName, payload: ParticipantEvent, except?: string): void {
    const w = this.windows.get(roomId);
    if (!w) {
      this.sink.one(roomId, event, payload, except);
      this.open(roomId);
      return;
    }
    w.pending.push({ event, participant: payload });
    if (w.pending.length >= this.options.maxBatch) this.flush(roomId);
  }

  /** Call before sending any other event to the room: what waits goes out first, keeping order. */
  beforeOther(roomId: string): void {
    if (this.windows.get(roomId)?.pending.length) this.flush(roomId);
  }

  /** Stops every timer; what still waits is dropped (the server is closing its sockets). */
  close(): void {
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
  }

  /** Sends what waits (one event alone, several as one frame) and starts a new window. */
  private flush(roomId: string): void {
    const w = this.windows.get(roomId);
    if (!w) return;
    clearTimeout(w.timer);
    const pending = w.pending;
    this.windows.delete(roomId);
    if (pending.length === 0) return;
    if (pending.length === 1) {
      const only = pending[0] as ParticipantChange;
      this.sink.one(roomId, only.event, only.participant, undefined);
    } else {
      this.sink.many(roomId, pending);
    }
    this.open(roomId);
  }

  /** Opens a window: at its end, what waited is sent (and another window opens), or the room is quiet again. */
  private open(roomId: string): void {
    const timer = setTimeout(() => this.flush(roomId), this.options.windowMs);
    timer.unref();
    this.windows.set(roomId, { pending: [], timer });
  }
}
