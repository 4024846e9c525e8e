/** Shell completion scripts generated from the command tree, so they never drift from the commands. */
import type { Command, Option } from "commander";

/** Commands whose argument is an existing object, and the command line that lists those names. */
const completesNames = new WeakMap<Command, string>();

/** Marks a command whose argument is an existing sandbox, completed from `fsb-ctl list -o name`. */
export function completeSandboxNames(command: Command): Command {
  completesNames.set(command, "fsb-ctl list -o name");
  return command;
}

/** Marks a command whose argument is an existing pool, completed from `fsb-ctl pools list -o name`. */
export function completePoolNames(command: Command): Command {
  completesNames.set(command, "fsb-ctl pools list -o name");
  return command;
}

/** Values offered after a flag that takes one of a few. */
const FLAG_VALUES: Record<string, string> = {
  "-o": "json yaml wide name",
  "--output": "json yaml wide name",
  "--failure-policy": "Manual AutoRecreate",
};

export function completionScript(program: Command, shell: "bash" | "zsh"): string {
  const bash = bashScript(program);
  if (shell === "bash") return bash;
  // zsh runs bash completion functions through bashcompinit; one script serves both shells.
  return `# zsh completion for fsb-ctl: add to ~/.zshrc (after compinit)  source <(fsb-ctl completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash}`;
}

function bashScript(program: Command): string {
  const all = [program, ...program.commands.flatMap((c) => [c, ...c.commands])];
  const valueFlags = new Set(all.flatMap((c) => c.options.filter(takesValue).flatMap(flagsOf)));
  const globals = [...program.options.flatMap(flagsOf), "--help"];
  const words = (list: string[]) => list.join(" ");
  const cases = program.commands.map(
    (c) => `    ${[c.name(), ...c.aliases()].join("|")})\n${commandCase(c, globals)}`,
  );
  const valueCases = Object.entries(FLAG_VALUES).map(
    ([flag, values]) => `    ${flag}) COMPREPLY=($(compgen -W "${values}" -- "$cur")); return ;;`,
  );
  for (const c of all) {
    for (const option of c.options) {
      if (option.argChoices)
        valueCases.push(
          `    ${flagsOf(option).join("|")}) COMPREPLY=($(compgen -W "${words(option.argChoices)}" -- "$cur")); return ;;`,
        );
    }
  }
  return `# bash completion for fsb-ctl: add to ~/.bashrc  source <(fsb-ctl completion bash)
_fsb_ctl() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local words=() skip="" i w
  # The command words so far, without flags and the values they take.
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if [[ -n $skip ]]; then skip=""; continue; fi
    case $w in
      ${[...valueFlags].join("|")}) skip=1 ;;
      -*) ;;
      *) words+=("$w") ;;
    esac
  done
  case $prev in
    -f|--file) if [[ \${words[0]} == run || \${words[0]} == apply ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi ;;
${[...new Set(valueCases)].join("\n")}
  esac
  case \${words[0]} in
    "") COMPREPLY=($(compgen -W "${words(program.commands.flatMap((c) => [c.name(), ...c.aliases()]))} ${words(globals)}" -- "$cur")) ;;
${cases.join("\n")}
  esac
}
complete -F _fsb_ctl fsb-ctl
`;
}

function commandCase(command: Command, globals: string[]): string {
  const flags = [...command.options.flatMap(flagsOf), ...globals].join(" ");
  const options = `COMPREPLY=($(compgen -W "${flags}" -- "$cur"))`;
  if (command.commands.length) {
    const subs = command.commands.map((sub) => {
      const subFlags = [...sub.options.flatMap(flagsOf), ...globals].join(" ");
      return `        ${[sub.name(), ...sub.aliases()].join("|")}) if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${subFlags}" -- "$cur")); elif [[ \${#words[@]} -eq 2 ]]; then ${operandReply(sub)}; fi ;;`;
    });
    return `      case \${words[1]} in
        "") COMPREPLY=($(compgen -W "${command.commands.map((c) => c.name()).join(" ")}" -- "$cur")) ;;
${subs.join("\n")}
      esac ;;`;
  }
  return `      if [[ $cur == -* ]]; then ${options}; else ${operandReply(command)}; fi ;;`;
}

/** What completes a command's first operand: existing names, its choices, or nothing. */
function operandReply(command: Command): string {
  const lister = completesNames.get(command);
  if (lister) return `COMPREPLY=($(compgen -W "$(${lister} 2>/dev/null)" -- "$cur"))`;
  const choices = command.registeredArguments[0]?.argChoices;
  if (choices) return `COMPREPLY=($(compgen -W "${choices.join(" ")}" -- "$cur"))`;
  return ":";
}

function flagsOf(option: Option): string[] {
  return [option.short, option.long].filter((f): f is string => Boolean(f));
}

function takesValue(option: Option): boolean {
  return option.required || option.optional;
}
