/**
 * The `deno task …` examples of the documentation: every command of a fenced
 * code block that starts with `deno task `, split into words as `sh` splits
 * them (quotes, `\` line continuations, `#` comments), and every YAML block
 * that is an experiment (it has `topologies:`), as `deno task predict FILE`
 * of a file holding it. The README-examples test runs each of them
 * (tasks/readme_examples_test.ts).
 *
 * @module
 */

/** One documented command. */
export interface DocExample {
  /** The Markdown file, as given. */
  file: string;
  /** 1-based line of the command's first line. */
  line: number;
  /** Its words, unquoted; operators (`&&`, `|`, `;`, `>`) are words of their own. */
  argv: string[];
  /** The words joined by one space: the example's key in skip lists. */
  text: string;
  /** An experiment block: the YAML to write to `argv[3]` before running. */
  yaml?: string;
}

/** The fenced code blocks of `md`: each block's text and the line its body starts on. */
export function fencedBlocks(md: string): { body: string; line: number; lang: string }[] {
  const lines = md.split("\n");
  const out: { body: string; line: number; lang: string }[] = [];
  let start = -1;
  let lang = "";
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i].match(/^\s*```\s*(\S*)/);
    if (!fence) continue;
    if (start < 0) [start, lang] = [i + 1, fence[1]];
    else {
      out.push({ body: lines.slice(start, i).join("\n"), line: start + 1, lang });
      start = -1;
    }
  }
  return out;
}

const OPERATORS = ["&&", "||", ";", "|", ">", "<", "&"];

/** Splits shell text into commands of words, each with the line it starts on (0-based). */
export function shellCommands(text: string): { argv: string[]; line: number }[] {
  const cmds: { argv: string[]; line: number }[] = [];
  let argv: string[] = [];
  let word: string | null = null;
  let line = 0;
  let start = 0;
  const endWord = () => {
    if (word !== null) argv.push(word);
    word = null;
  };
  const endCommand = () => {
    endWord();
    if (argv.length) cmds.push({ argv, line: start });
    argv = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (!argv.length && word === null) start = line;
    if (c === "\\" && text[i + 1] === "\n") {
      i++;
      line++;
    } else if (c === "\n") {
      endCommand();
      line++;
    } else if (c === " " || c === "\t") endWord();
    else if (c === "#" && word === null) {
      while (i + 1 < text.length && text[i + 1] !== "\n") i++;
    } else if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      const end = close < 0 ? text.length : close;
      const quoted = text.slice(i + 1, end);
      line += quoted.split("\n").length - 1;
      word = (word ?? "") + quoted;
      i = end;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (op) {
        endWord();
        argv.push(op);
        i += op.length - 1;
      } else word = (word ?? "") + c;
    }
  }
  endCommand();
  return cmds;
}

/** The `deno task …` commands of the fenced blocks of one Markdown text. */
export function docExamples(md: string, file: string): DocExample[] {
  return fencedBlocks(md).flatMap(({ body, line, lang }) => {
    if (lang === "yaml" && /^topologies:/m.test(body)) {
      const argv = ["deno", "task", "predict", `example_${line}.yaml`, "--no-plot"];
      return [{ file, line, argv, text: argv.join(" "), yaml: body }];
    }
    return shellCommands(body)
      .filter(({ argv }) => argv[0] === "deno" && argv[1] === "task")
      .map(({ argv, line: l }) => ({ file, line: line + l, argv, text: argv.join(" ") }));
  });
}
