/**
 * Shell completion scripts. Each asks `keystone __complete -- WORDS...` for candidates, so the
 * logic lives in one place (and can look up live names in the cluster).
 */
export const completionShells = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof completionShells)[number];

/*
 * `keystone __complete` prints one candidate a line and then a directive line (see
 * complete.ts): `:filenames` makes the shell quote what it inserts (spaces, quotes, `$`...),
 * `:files` lets the shell complete paths itself. Candidates are read line by line, never
 * word-split or globbed, so names with spaces or `*` arrive whole.
 */
export function completionScript(shell: CompletionShell): string {
  switch (shell) {
    case 'bash':
      return `# keystone bash completion. Install: keystone completion bash > ~/.local/share/bash-completion/completions/keystone
_keystone_complete() {
  local -a words=("\${COMP_WORDS[@]:1:COMP_CWORD}") out
  # The word being completed as the user typed it ('my fi, my\\ fi): without its quoting.
  local cur=\${words[-1]}
  cur=\${cur#[\\"\\']}
  words[-1]=\${cur//\\\\/}
  mapfile -t out < <(keystone __complete -- "\${words[@]}" 2>/dev/null)
  local directive=
  if (( \${#out[@]} )) && [[ \${out[-1]} == :* ]]; then
    directive=\${out[-1]}
    unset 'out[-1]'
  fi
  COMPREPLY=("\${out[@]}")
  # File names: bash quotes them when it inserts one (compopt exists in bash >= 4).
  if [[ $directive == :filenames ]]; then compopt -o filenames 2>/dev/null; fi
  return 0
}
complete -o default -F _keystone_complete keystone
`;
    case 'zsh':
      return `#compdef keystone
# keystone zsh completion. Install: keystone completion zsh > "\${fpath[1]}/_keystone" (then restart zsh)
_keystone() {
  local -a lines candidates
  lines=("\${(@f)$(keystone __complete -- "\${(@Q)words[2,CURRENT]}" 2>/dev/null)}")
  local directive=\${lines[-1]}
  candidates=("\${(@)lines[1,-2]}")
  case $directive in
    :files) _files ;;
    :filenames) compadd -f -a candidates ;;
    *) compadd -a candidates ;;
  esac
}
if [[ "$funcstack[1]" = "_keystone" ]]; then
  _keystone "$@"
else
  compdef _keystone keystone
fi
`;
    case 'fish':
      return `# keystone fish completion. Install: keystone completion fish > ~/.config/fish/completions/keystone.fish
function __keystone_complete
    set -l tokens (commandline -opc) (commandline -ct | string unescape)
    set -l out (keystone __complete -- $tokens[2..-1] 2>/dev/null)
    set -q out[1]; or return
    set -l directive $out[-1]
    set -e out[-1]
    if test "$directive" = :files
        __fish_complete_path (commandline -ct)
    else if set -q out[1]
        printf '%s\\n' $out
    end
end
complete -c keystone -f -a '(__keystone_complete)'
`;
  }
}
