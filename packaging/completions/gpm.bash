# bash completion for gpm
# App names, only from a daemon that already runs: completing must not start one.
_gpm_apps() {
	local home=${GPM_HOME:-$HOME/.gpm}
	[ -S "${GPM_SOCKET:-$home/gpm.sock}" ] || return 0
	gpm jlist 2>/dev/null | tr '{,' '\n\n' | sed -n 's/^"name":"\([^"]*\)"$/\1/p' | sort -u
}

_gpm() {
	local cur prev cmd i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	local commands="start stop reload startOrReload restart delete reset scale list ls jlist prettylist describe monit env id pid logs flush
		reloadLogs sendSignal save resurrect cleardump startOrRestart import ping kill update ecosystem version daemon startup unstartup
		conf report send attach run export help"
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--system) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "$commands --system --help --version" -- "$cur"))
		return
	fi
	case $cmd in
	start | startOrReload | startOrRestart)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--name --namespace --instances --interpreter --interpreter-args --cwd --output --error
				--log --merge-logs --log-date-format --time --env --update-env --force --only --max-memory-restart
				--max-restarts --min-uptime --restart-delay --kill-timeout --kill-signal --listen --listen-timeout
				--wait-ready --watchdog --stop-exit-codes --no-autorestart --no-autostart --uid --gid --watch --ignore-watch
				--watch-delay --cron-restart --stdin --attach --no-daemon --filter-env" -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		;;
	stop | reload | restart | delete | reset | describe | env | id | pid | logs | flush | scale | send | attach)
		COMPREPLY=($(compgen -W "all $(_gpm_apps)" -- "$cur"))
		;;
	sendSignal)
		COMPREPLY=($(compgen -W "SIGINT SIGTERM SIGHUP SIGUSR1 SIGUSR2 all $(_gpm_apps)" -- "$cur"))
		;;
	startup | unstartup)
		case $prev in
		-u | --username) COMPREPLY=($(compgen -u -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "systemd launchd windows --user --username --hp --wait-ip --service-name --system --print" -- "$cur")) ;;
		esac
		;;
	daemon) COMPREPLY=($(compgen -W "--resurrect" -- "$cur")) ;;
	save) COMPREPLY=($(compgen -W "--force" -- "$cur")) ;;
	esac
}
complete -F _gpm gpm
