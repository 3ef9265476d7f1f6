import { z } from 'zod';
import { TerminalId } from '../events/envelope';

/** Bounds of one upload batch; the client sizes its batches below these. */
export const MAX_BATCH_EVENTS = 1000;
export const MAX_BATCH_BYTES = 2 * 1024 * 1024;

/**
 * POST /api/events body. Events stay `unknown` here: each one is validated on its own
 * (checkIncomingEvent) so that one bad event is rejected alone while the rest is stored.
 */
export const PostEventsRequest = z.object({
  events: z.array(z.unknown()).max(MAX_BATCH_EVENTS),
});
export type PostEventsRequest = z.infer<typeof PostEventsRequest>;

export const EventStatus = z.enum(['accepted', 'duplicate', 'rejected']);
export type EventStatus = z.infer<typeof EventStatus>;

/**
 * A rejection's code: the event's type or version is newer than this server's build (its
 * writer runs a newer one). Not the event's fault: its writer sends it again once the server
 * is updated, and does not quarantine it.
 */
export const NEWER_THAN_SERVER = 'newer_than_server';

export const EventResult = z.object({
  /** The event's id, or `#<index>` when the event had no usable id. */
  id: z.string(),
  status: EventStatus,
  reason: z.string().optional(),
  field: z.string().optional(),
  /** Why a rejection, for machines (NEWER_THAN_SERVER); any string, so a later server's codes parse. */
  code: z.string().optional(),
});
export type EventResult = z.infer<typeof EventResult>;

/** terminal → highest contiguous origin.n the server has stored. */
export const Watermarks = z.record(TerminalId, z.number().int().nonnegative());
export type Watermarks = z.infer<typeof Watermarks>;

/** The most ranges a server names per writer in `storedAbove`: the lowest ones (an event above them counts as not acknowledged). */
export const MAX_RANGES_ABOVE = 64;

/**
 * terminal → the ranges [from, to] of origin.n the server stores above its watermark, lowest
 * first (at most MAX_RANGES_ABOVE): above an n it never stores (an event it refused, an n
 * reserved and never written) the watermark stops for good, these events are acknowledged all
 * the same (OUT8). Optional, default none: a server from before it sends none.
 */
export const StoredAbove = z.record(TerminalId, z.array(z.tuple([z.number().int().positive(), z.number().int().positive()])));
export type StoredAbove = z.infer<typeof StoredAbove>;

export const PostEventsResponse = z.object({
  results: z.array(EventResult),
  watermarks: Watermarks,
  storedAbove: StoredAbove.default({}),
  serverTime: z.number(),
});
export type PostEventsResponse = z.infer<typeof PostEventsResponse>;

/** GET /api/events query: a server cursor (opaque string; empty = from the start). */
export const GetEventsQuery = z.object({
  after: z
    .string()
    .regex(/^\d{0,15}$/, 'after is a cursor returned as `next`')
    .optional(),
  limit: z.coerce.number().int().min(1).max(MAX_BATCH_EVENTS).optional(),
});
export type GetEventsQuery = z.infer<typeof GetEventsQuery>;

export const GetEventsResponse = z.object({
  events: z.array(z.unknown()),
  /** Pass as `after` to continue; equal to the request's cursor when nothing new. */
  next: z.string(),
  hasMore: z.boolean(),
  serverTime: z.number(),
});
export type GetEventsResponse = z.infer<typeof GetEventsResponse>;

export const WatermarksResponse = z.object({
  watermarks: Watermarks,
  storedAbove: StoredAbove.default({}),
  /** Every writer the location holds an event of: also one whose first events are missing (no watermark yet). */
  writers: z.array(z.string()),
  serverTime: z.number(),
});
export type WatermarksResponse = z.infer<typeof WatermarksResponse>;
