// Shell completion (bash, zsh, fish, PowerShell) through @bomb.sh/tab: it
// reads commands, options and argument choices from the commander program,
// and the handlers below add the names that live in registries (families,
// presets, samplers, backends), so a family or sampler registered later is
// completed without touching this file.

import tab from '@bomb.sh/tab/commander';
import { listSamplers } from '@sculpt/samplers';
import type { Command } from 'commander';
import { BACKEND_CHOICES } from './backend.js';
import { FAMILIES } from './families/index.js';

type Complete = (value: string, description: string) => void;

/** Completions for an argument or option, by its name (`family`, `preset`, …). */
const HANDLERS: Readonly<Record<string, (complete: Complete) => void>> = {
  family: (complete) => {
    for (const f of FAMILIES) complete(f.name, f.description);
  },
  preset: (complete) => {
    const seen = new Set<string>();
    for (const f of FAMILIES) {
      for (const p of f.presets) {
        if (seen.has(p.name)) continue;
        seen.add(p.name);
        complete(p.name, `${f.name} preset`);
      }
    }
  },
  sampler: (complete) => {
    for (const s of listSamplers()) complete(s.name, s.paper ?? `order ${s.order}`);
  },
  backend: (complete) => {
    for (const b of BACKEND_CHOICES) complete(b, 'tfjs backend');
  },
};

/**
 * Adds `sculpt completion <bash|zsh|fish|powershell>` (prints the script to
 * source) and the hidden `sculpt complete -- <words>` that the script calls.
 *
 * @param program - the full program: call after every command is defined.
 * @example
 * ```sh
 * sculpt completion bash > ~/.local/share/bash-completion/completions/sculpt
 * ```
 */
export function completionFor(program: Command): void {
  const root = tab(program, { completionCommandName: 'completion' });
  for (const command of root.commands.values()) {
    for (const [name, argument] of command.arguments) {
      const handler = HANDLERS[name];
      if (handler) argument.handler = handler;
    }
    for (const [name, option] of command.options) {
      const handler = HANDLERS[name];
      if (handler) option.handler = handler;
    }
  }
}
