# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for corral(1): verbs and options from `corral --help` (so they never drift from
# the program), backend names from the running corrald (`corral list --json`), signal names.

_corral_cmd() { # corral with the --address the command line gives, if any
        command corral ${_corral_address:+--address "$_corral_address"} "$@" 2>/dev/null
}

_corral_verbs() {
        command corral --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p'
}

_corral_options() { # $1: the verb; its own help where it has one, else the whole help
        local text
        text=$(command corral "$1" --help 2>/dev/null)
        [[ $text == Usage* ]] || text=$(command corral --help 2>/dev/null) # a verb without help of its own
        grep -o -- '--[a-z][a-z0-9-]*' <<<"$text" | sort -u
}

_corral_names() {
        _corral_cmd list --json | grep -o '"name": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
}

_corral() {
        local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
        local verb= _corral_address= i w
        COMPREPLY=()

        for ((i = 1; i < COMP_CWORD; i++)); do
                w=${COMP_WORDS[i]}
                case $w in
                --address) _corral_address=${COMP_WORDS[i+1]}; ((i++)) ;;
                --address=*) _corral_address=${w#--address=} ;;
                --) [[ -n $verb ]] && return 0 ;; # the backend's own command line: not ours
                -*) ;;
                *) [[ -z $verb ]] && verb=$w ;;
                esac
        done

        case $prev in
        --address) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        --signal|-s|--kill-signal|--stop-signal|--reload-signal)
                COMPREPLY=($(compgen -W "$(compgen -A signal) $(compgen -A signal | sed 's/^SIG//')" -- "$cur"))
                return 0 ;;
        --whom) COMPREPLY=($(compgen -W "main all" -- "$cur")); return 0 ;;
        --kill-mode) COMPREPLY=($(compgen -W "control-group mixed" -- "$cur")); return 0 ;;
        --restart) COMPREPLY=($(compgen -W "no on-failure always" -- "$cur")); return 0 ;;
        --type) COMPREPLY=($(compgen -W "service task oneshot notify" -- "$cur")); return 0 ;;
        --ready) COMPREPLY=($(compgen -W "none notify tcp: http:// exec:" -- "$cur")); return 0 ;;
        --user|-u) COMPREPLY=($(compgen -u -- "$cur")); return 0 ;;
        --group|-g) COMPREPLY=($(compgen -g -- "$cur")); return 0 ;;
        --working-directory|--log-file|--env-file|--environment-file)
                COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        esac

        if [[ -z $verb ]]; then
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W "--address --json --help --version" -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$(_corral_verbs)" -- "$cur"))
                fi
                return 0
        fi
        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$(_corral_options "$verb")" -- "$cur"))
                return 0
        fi
        case $verb in
        verify) COMPREPLY=($(compgen -f -- "$cur")) ;;
        stop|restart|kill|reset-failed|remove|status|logs|reload|start)
                COMPREPLY=($(compgen -W "$(_corral_names)" -- "$cur")) ;;
        esac
        return 0
}
complete -F _corral corral
