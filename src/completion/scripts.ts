/**
 * Shell completion scripts. Each asks `keystone __complete -- WORDS...` for candidates, so the
 * logic lives in one place (and can look up live names in the cluster).
 */
export const completionShells = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof completionShells)[number];

export function completionScript(shell: CompletionShell): string {
  switch (shell) {
    case 'bash':
      return `# keystone bash completion. Install: keystone completion bash > ~/.local/share/bash-completion/completions/keystone
_keystone_complete() {
  local IFS=$'\\n'
  COMPREPLY=( $(keystone __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) )
}
complete -o default -F _keystone_complete keystone
`;
    case 'zsh':
      return `#compdef keystone
# keystone zsh completion. Install: keystone completion zsh > "\${fpath[1]}/_keystone" (then restart zsh)
_keystone() {
  local -a candidates
  candidates=("\${(@f)$(keystone __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a candidates
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
    set -l tokens (commandline -opc) (commandline -ct)
    keystone __complete -- $tokens[2..-1] 2>/dev/null
end
complete -c keystone -f -a '(__keystone_complete)'
`;
  }
}
