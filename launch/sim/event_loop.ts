/**
 * The virtual clock lives in `lib/event_loop.ts` (the load driver in `bench/`
 * schedules on it too); this name stays for the modules that still import it here.
 *
 * @module
 */
export { EventLoop } from "../../lib/event_loop.ts";
