/**
 * The one home of load units. On multi-turn workloads (`multiturn`,
 * `sharegpt-multiturn`) the offered load is conversations per second, each
 * bringing one request per turn; everywhere else it is requests per second.
 * Achieved request rates and throughputs are always requests per second.
 * Every header, axis title, label and JSON key that names an offered rate
 * takes its unit from here (bench's result block, the report's table, the
 * figures, findings).
 *
 * @module
 */

/** Short unit of a conversation rate. */
export const CONV_UNIT = "conv/s";
/** Short unit of a request rate. */
export const REQ_UNIT = "req/s";

/** Datasets whose offered load is conversations (workload labels start with the dataset's name). */
const CONVERSATION_DATASETS = ["multiturn", "sharegpt-multiturn"];

/**
 * Whether a workload label (`multiturn W1 t3`, `sharegpt-multiturn chat.json t4`)
 * offers conversations. A list joined with `, ` (several workloads in one
 * figure) does when any of its workloads does.
 */
export function offersConversations(workload: string): boolean {
  return workload.split(", ").some((w) => {
    const dataset = w.trim().split(" ")[0];
    return CONVERSATION_DATASETS.includes(dataset);
  });
}

/** The short unit of a workload's offered load: `conv/s` or `req/s`. */
export function offeredUnit(workload: string): string {
  return offersConversations(workload) ? CONV_UNIT : REQ_UNIT;
}

/** The long name of a workload's offered-load unit: `conversations/s` or `req/s`. */
export function offeredUnitLong(workload: string): string {
  return offersConversations(workload) ? "conversations/s" : REQ_UNIT;
}
