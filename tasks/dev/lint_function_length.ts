/**
 * A `deno lint` plugin: a product function (test files and test fakes
 * excluded) may span at most {@linkcode MAX_LINES} lines, the developers'
 * guide's hard limit (aim: under ~60). Nested functions count on their own,
 * and an outer function counts its nested ones' lines too.
 *
 * Enabled in deno.json (`lint.plugins`); `deno task check` runs it.
 *
 * @module
 */

/** The longest a product function may be, in lines. */
export const MAX_LINES = 120;

/** Test fakes: stand-ins for third-party programs, written for the tests. */
const TEST_FAKES = ["/tasks/dev/fake_kubectl.ts", "/tasks/dev/_fake_pods.ts"];

/** Whether `filename` is a test or a test fake (not measured). */
export function isTestCode(filename: string): boolean {
  return filename.endsWith("_test.ts") || TEST_FAKES.some((f) => filename.endsWith(f));
}

const plugin: Deno.lint.Plugin = {
  name: "topobench",
  rules: {
    "max-function-lines": {
      create(context) {
        if (isTestCode(context.filename)) return {};
        const text = context.sourceCode.text;
        const check = (node: Deno.lint.Node) => {
          const [start, end] = node.range;
          let lines = 1;
          for (let i = start; i < end; i++) if (text.charCodeAt(i) === 10) lines++;
          if (lines > MAX_LINES) {
            context.report({
              node,
              message:
                `Cannot keep a function of ${lines} lines: at most ${MAX_LINES} are allowed (aim for under 60); split it by purpose`,
            });
          }
        };
        return {
          FunctionDeclaration: check,
          FunctionExpression: check,
          ArrowFunctionExpression: check,
        };
      },
    },
  },
};

export default plugin;
