# bash completion for p0fbpf(1). Installed as
# share/bash-completion/completions/p0fbpf; needs nothing from the
# bash-completion package. Completes the commands, the options of each
# (the lists below are checked against each command's --help by
# tests/cli/completion_test.cpp), the values of -f, --link, --hook, --mode,
# --direction and -O, files and directories, network devices (from
# /sys/class/net) and database labels (from `p0fbpf --list`, which prints
# them printable only; offered as regular expressions that match the label
# alone, quoted for the shell).

_p0fbpf_options_compile='-h --help --version -n --negate -O --no-optimize --loose --response -f --format -l --link
  --l3-offset --max-insns --print-ir -F --fp-file --label --list --split --hook --chain --target --table
  --count-only --name --rate --dev --direction --pref -d --destination --ipset --pinned --config'
_p0fbpf_options_test='-h --help -r --read -w --write -i --interface -c --count --seconds -B --buffer-size -n --negate -O --no-optimize --loose --response -F --fp-file
  --label --config'
_p0fbpf_options_fingerprint='-h --help -r --read -i --interface -c --count --seconds -B --buffer-size -w --write -F --fp-file --response --top --json --config'
_p0fbpf_options_suggest='-h --help -r --read -i --interface -c --count --seconds -B
  --buffer-size -w --write --baseline --max-signatures --max-collateral --response --json
  --best-effort -f --format --hook --chain --target --table --count-only --rate --dev --direction --pref
  -d --destination --ipset --pinned -F --fp-file --config'
_p0fbpf_options_convert='-h --help --from --config'
_p0fbpf_options_pin='-h --help -n --negate -O --no-optimize --loose --response -F --fp-file --label --config'
_p0fbpf_options_xdp='-h --help --config'
_p0fbpf_options_xdp_attach='-h --help -n --negate -O --no-optimize --loose --response -F --fp-file --label --mode
  --count-only --bpffs --config'
_p0fbpf_options_xdp_stats='-h --help --json --prometheus --watch --config'
_p0fbpf_options_xdp_detach='-h --help --bpffs --config'
_p0fbpf_options_xdp_list='-h --help --bpffs --json --config'
_p0fbpf_options_xdp_prune='-h --help --bpffs --config'

# COMPREPLY from the words of $2 that start with $1.
_p0fbpf_words() {
  local IFS=$' \t\n'
  mapfile -t COMPREPLY < <(compgen -W "$2" -- "$1")
}

_p0fbpf_devices() {
  local names=() entry
  for entry in /sys/class/net/*; do
    [[ -e $entry ]] && names+=("${entry##*/}")
  done
  _p0fbpf_words "$1" "${names[*]}"
}

# Labels of the database the command line names with -F (p0fbpf's own
# without it), each as an escaped regular expression anchored at both ends,
# listed by the p0fbpf being completed ($3).
_p0fbpf_labels() {
  local cur=$1 database=$2 binary=$3 line label pattern quoted
  local -a list_args=(--list)
  local -A seen=()
  [[ -n $database ]] && list_args=(-F "$database" --list)
  COMPREPLY=()
  while IFS= read -r line; do
    # "  N [tcp:request]  LABEL": the label after the section (a label is
    # in both sections when it has SYN and SYN+ACK signatures).
    label=${line#*] }
    label=${label#"${label%%[! ]*}"}
    [[ -z $label || -n ${seen[$label]} ]] && continue
    seen[$label]=1
    pattern=$(printf '%s' "$label" | sed 's/[][\\.^$|?*+(){}]/\\&/g')
    pattern="^$pattern\$"
    printf -v quoted '%q' "$pattern"
    # The word as typed may be the pattern or its quoted form.
    [[ $pattern == "$cur"* || $quoted == "$cur"* ]] || continue
    COMPREPLY+=("$quoted")
  done < <(command "$binary" "${list_args[@]}" 2>/dev/null)
}

_p0fbpf() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # The command, its xdp subcommand, and a -F given before the cursor.
  local command=compile sub="" database="" i word
  for ((i = 1; i < COMP_CWORD; ++i)); do
    word=${COMP_WORDS[i]}
    case $word in
      -F | --fp-file) database=${COMP_WORDS[i + 1]} ;;
      --fp-file=*) database=${word#*=} ;;
    esac
    if [[ $command == compile && $word =~ ^(test|fingerprint|suggest|convert|pin|xdp)$ ]]; then
      command=$word
    elif [[ $command == xdp && -z $sub && $word =~ ^(attach|stats|detach|list|prune)$ ]]; then
      sub=$word
    fi
  done

  case $prev in
    -f | --format)
      if [[ $command == suggest ]]; then
        _p0fbpf_words "$cur" 'iptables script asm c xdp nft'
      else
        _p0fbpf_words "$cur" 'iptables asm c ddd dot script xdp nft'
      fi
      return ;;
    -l | --link) _p0fbpf_words "$cur" 'raw ether sll sll2'; return ;;
    --from) _p0fbpf_words "$cur" 'muonfp satori'; return ;;
    --hook) _p0fbpf_words "$cur" 'iptables tc input prerouting ingress'; return ;;
    --mode) _p0fbpf_words "$cur" 'auto native generic'; return ;;
    --direction) _p0fbpf_words "$cur" 'ingress egress'; return ;;
    -O) _p0fbpf_words "$cur" '0 1'; return ;;
    -i | --interface | --dev) _p0fbpf_devices "$cur"; return ;;
    --label) _p0fbpf_labels "$cur" "$database" "${COMP_WORDS[0]}"; return ;;
    -F | --fp-file | -r | --read | -w | --write | --baseline | --config)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur"); compopt -o filenames 2>/dev/null; return ;;
    --pinned | --bpffs)
      mapfile -t COMPREPLY < <(compgen -d -- "$cur"); compopt -o filenames 2>/dev/null; return ;;
    --l3-offset | --max-insns | --name | --rate | --chain | --target | --table | --pref | -d | --destination | --ipset | \
      --top | --max-signatures | --max-collateral | --watch)
      return ;;
  esac

  local options
  if [[ $command == xdp && -n $sub ]]; then
    local name=_p0fbpf_options_xdp_$sub
    options=${!name}
    # The device, the first word after the subcommand that is not an option.
    if [[ $cur != -* && $sub =~ ^(attach|stats|detach)$ ]]; then
      local at=0
      for ((i = 1; i < COMP_CWORD; ++i)); do
        [[ ${COMP_WORDS[i]} == "$sub" ]] && { at=$i; break; }
      done
      local device_given=0
      for ((i = at + 1; i < COMP_CWORD; ++i)); do
        case ${COMP_WORDS[i]} in
          -F | --fp-file | --label | --mode | --bpffs | -O | --config) ((++i)) ;;  # and its value
          -*) ;;
          *) device_given=1 ;;
        esac
      done
      if ((!device_given)); then
        _p0fbpf_devices "$cur"
        return
      fi
    fi
  elif [[ $command == xdp ]]; then
    if [[ $cur != -* ]]; then
      _p0fbpf_words "$cur" 'attach stats detach list prune'
      return
    fi
    options=$_p0fbpf_options_xdp
  else
    local name=_p0fbpf_options_$command
    options=${!name}
    if [[ $command == compile && $cur != -* ]]; then
      _p0fbpf_words "$cur" 'test fingerprint suggest convert pin xdp'
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    _p0fbpf_words "$cur" "$options"
  fi
}

complete -F _p0fbpf p0fbpf
