/**
 * Test helper: a private tmux server (`tmux -L`) with one session, to drive
 * the full-screen TUI in a real terminal.
 *
 * @module
 */
import { mx8Args } from "../_helpers/mx8.ts";

let seq = 0;

/** A tmux server of our own with one session running a command. */
export class Tmux {
  /** Private server socket name. */
  readonly socket = `mx8-tui-test-${Deno.pid}-${++seq}`;
  /** Session name. */
  readonly session = `tui${seq}`;

  /** Runs a tmux command on this server; returns its stdout. */
  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `tmux ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    return new TextDecoder().decode(out.stdout);
  }

  /** Starts the session running a shell command in a columns × rows pane. */
  start(cmd: string, columns = 120, rows = 40): Promise<string> {
    return this.run(
      "new-session",
      "-d",
      "-s",
      this.session,
      "-x",
      String(columns),
      "-y",
      String(rows),
      cmd,
    );
  }

  /** The pane's text. */
  capture(): Promise<string> {
    return this.run("capture-pane", "-p", "-t", this.session);
  }

  /** Sends keys (tmux send-keys syntax). */
  keys(...keys: string[]): Promise<string> {
    return this.run("send-keys", "-t", this.session, ...keys);
  }

  /** Waits until the pane matches; returns it (throws with the pane on timeout). */
  async until(re: RegExp, what: string, ms = 20_000): Promise<string> {
    const end = Date.now() + ms;
    let screen = "";
    while (Date.now() < end) {
      screen = await this.capture();
      if (re.test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; screen:\n${screen}`);
  }

  /** Kills the server and every session on it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await new Deno.Command("tmux", {
      args: ["-L", this.socket, "kill-server"],
      stdout: "null",
      stderr: "null",
    }).output();
  }
}

/** Quotes a word for sh. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A shell line that prints a marker, runs `mx8 …args`, then reports its exit. */
export function tuiCommand(args: string[]): string {
  const deno = [Deno.execPath(), ...mx8Args(args)].map(shellQuote).join(" ");
  return `printf 'BEFORE-TUI\\n'; ${deno}; echo "TUI-EXIT rc=$?"; sleep 60`;
}
