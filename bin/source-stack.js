// Stack traces from the compiled CLI name the TypeScript lines. The build writes a source map beside
// each file in dist/; this reads one only when a stack trace through that file is formatted (an
// internal error), where --enable-source-maps (process.setSourceMapsEnabled) reads every module's
// map as the module loads: about 30 ms of CPU on each call of `svcsim trace` (docs/design.md,
// "The command's build"). Frames outside the given directory are left as V8 writes them.
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Formats every stack trace with frames in files under `dirUrl` (a file: URL ending in /) mapped to their sources. */
export function installSourceStacks(dirUrl) {
  const maps = new Map();
  const mapOf = (fileUrl) => {
    if (!maps.has(fileUrl)) {
      let map = null;
      try {
        map = new SourceMap(JSON.parse(readFileSync(fileURLToPath(`${fileUrl}.map`), 'utf8')));
      } catch {
        // No map, or an unreadable one: the frame stays as it is.
      }
      maps.set(fileUrl, map);
    }
    return maps.get(fileUrl);
  };
  const frameText = (frame) => {
    const text = String(frame);
    const file = frame.getFileName();
    if (!file?.startsWith(dirUrl)) return text;
    const line = frame.getLineNumber();
    const column = frame.getColumnNumber();
    const entry = mapOf(file)?.findEntry(line - 1, column - 1);
    if (!entry?.originalSource) return text;
    const source = fileURLToPath(new URL(entry.originalSource, file));
    return text.replace(`${file}:${line}:${column}`, `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`);
  };
  Error.prepareStackTrace = (error, frames) => {
    let head;
    try {
      head = Error.prototype.toString.call(error);
    } catch {
      head = '<error>';
    }
    return head + frames.map((f) => `\n    at ${frameText(f)}`).join('');
  };
}
