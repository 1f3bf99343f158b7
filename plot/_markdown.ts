/**
 * The small Markdown subset our own files use (`findings.md`, `compare.md`):
 * headings, pipe tables, bullet lists, bold and code spans, paragraphs, as
 * HTML for the report. Anything else is shown as escaped text.
 *
 * @module
 */

/** Escapes text for HTML (also inside attribute values). */
export const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function inline(s: string): string {
  return esc(s).replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>").replace(/`([^`]+)`/g, "<code>$1</code>");
}

const cells = (line: string) => line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());

/** Renders `md` to HTML; headings are shifted down by `shift` levels. @default shift 1 */
export function markdownToHtml(md: string, shift = 1): string {
  const out: string[] = [];
  const lines = md.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      const n = Math.min(6, h[1].length + shift);
      out.push(`<h${n}>${inline(h[2])}</h${n}>`);
    } else if (line.startsWith("|")) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i].startsWith("|"); i++) {
        if (!/^\|[\s|:-]+\|?$/.test(lines[i])) rows.push(cells(lines[i]));
      }
      i--;
      const [head, ...body] = rows;
      out.push(
        `<table><thead><tr>${
          head.map((c) => `<th>${inline(c)}</th>`).join("")
        }</tr></thead><tbody>${
          body.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`).join("")
        }</tbody></table>`,
      );
    } else if (line.startsWith("- ")) {
      const items: string[] = [];
      for (; i < lines.length && lines[i].startsWith("- "); i++) items.push(lines[i].slice(2));
      i--;
      out.push(`<ul>${items.map((x) => `<li>${inline(x)}</li>`).join("")}</ul>`);
    } else if (line.trim()) {
      const para: string[] = [];
      for (; i < lines.length && lines[i].trim() && !/^(#|\||- )/.test(lines[i]); i++) {
        para.push(lines[i]);
      }
      i--;
      out.push(`<p>${inline(para.join(" "))}</p>`);
    }
  }
  return out.join("\n");
}
