/**
 * Splits a text stream into lines (`\n` or `\r\n`), like std's TextLineStream.
 *
 * @module
 */

/** A TransformStream from text chunks to lines without their terminators. */
export class TextLineStream extends TransformStream<string, string> {
  constructor() {
    let buf = "";
    super({
      transform(chunk, ctrl) {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const end = i > 0 && buf[i - 1] === "\r" ? i - 1 : i;
          ctrl.enqueue(buf.slice(0, end));
          buf = buf.slice(i + 1);
        }
      },
      flush(ctrl) {
        if (buf) ctrl.enqueue(buf);
      },
    });
  }
}
