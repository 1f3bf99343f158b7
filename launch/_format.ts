/**
 * The human plan `up --dry-run` prints: one block per process (role, host,
 * GPUs, ports, health URL, log) with its exact command line, then router.json.
 *
 * @module
 */
import type { Plan } from "./_plan.ts";
import { type LaunchProcess, routerConfig, routerConfigPath, shellQuote } from "./_launch.ts";

/** A command line as one could paste it in a shell: `K=V ... cmd args`. */
export function commandLine(p: Pick<LaunchProcess, "cmd" | "args" | "env">): string {
  const env = Object.entries(p.env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [...env, ...[p.cmd, ...p.args].map(shellQuote)].join(" ");
}

/** The dry-run text of a plan. */
export function formatPlan(plan: Plan, procs: LaunchProcess[], stateDir: string): string {
  const t = plan.topology;
  const head = [
    `topology ${t.name} from ${t.file}`,
    `  engine: ${t.engine}${t.engine === "sim" ? " (SIMULATED)" : ""}, kind: ${t.kind}` +
    (t.connector ? `, connector: ${t.connector}` : "") + (t.model ? `, model: ${t.model}` : ""),
    `  endpoint: ${plan.router?.url ?? procs[0]?.url ?? "-"}`,
    `  state: ${stateDir}/${t.name}.json`,
  ];
  const blocks = procs.map((p) => {
    const facts = [
      `role=${p.role}`,
      `host=${p.host ?? "local"}`,
      ...(p.gpus ? [`gpus=${p.gpus.join(",")}`, `tp=${p.tp ?? p.gpus.length}`] : []),
      ...(p.dp ? [`dp=${p.dp}`] : []),
      ...(p.dpRank !== undefined ? [`dp_rank=${p.dpRank}`] : []),
      ...(p.nodes ? [`nodes=${p.nodes}`] : []),
      `ports=${p.ports.join(",") || "-"}`,
    ];
    return [
      `# ${p.name}: ${facts.join(" ")}`,
      `#   health: ${p.healthUrl}`,
      `#   log: ${p.logPath}`,
      commandLine(p),
    ].join("\n");
  });
  const parts = [head.join("\n"), ...blocks];
  if (plan.router) {
    parts.push(
      `# ${routerConfigPath(stateDir, t.name)}\n${JSON.stringify(routerConfig(plan), null, 2)}`,
    );
  }
  return parts.join("\n\n") + "\n";
}
