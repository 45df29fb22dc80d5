// Types of scripts/run-example.mjs.

/** What an example printed and how it exited. */
export interface ExampleRun {
  code: number | null
  out: string
  err: string
  ms: number
}

/** Runs `node <path> ...args`; rejects (after a SIGKILL) when it does not exit within `timeoutMs` (20 s). */
export function runExample(path: string, args?: string[], timeoutMs?: number): Promise<ExampleRun>
