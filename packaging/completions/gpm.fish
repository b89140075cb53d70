# fish completion for gpm
function __gpm_apps
    # only from a daemon that already runs: completing must not start one
    set -l home (set -q GPM_HOME; and echo $GPM_HOME; or echo $HOME/.gpm)
    set -l sock (set -q GPM_SOCKET; and echo $GPM_SOCKET; or echo $home/gpm.sock)
    test -S $sock; or return
    gpm jlist 2>/dev/null | string split -n -- ',' | string replace -rf '.*"name":"([^"]*)".*' '$1' | sort -u
end

set -l cmds start stop reload startOrReload restart delete reset scale list ls jlist prettylist describe env id pid logs flush reloadLogs sendSignal save resurrect cleardump startOrRestart import ping kill update ecosystem version daemon startup unstartup conf report send attach help
set -l targets stop reload restart delete reset describe env id pid logs flush scale sendSignal send attach

complete -c gpm -f
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -l system -d "talk to the system daemon"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a start -d "start and daemonize apps"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a stop -d "stop apps"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a reload -d "replace workers with no downtime"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a restart -d "restart apps"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a delete -d "stop apps and remove them from the list"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a list -d "list apps in a table"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a jlist -d "list apps as JSON"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a prettylist -d "list apps as indented JSON"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a update -d "save, restart the daemon on this binary, resurrect"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a ecosystem -d "write ecosystem.json, a process file to start from"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a describe -d "show everything about an app"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a logs -d "print and follow logs"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a save -d "save the process list for resurrect"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a resurrect -d "start the saved process list"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a kill -d "stop every app, then the daemon"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a startup -d "start the daemon at boot as an OS service"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a unstartup -d "remove the service gpm startup installed"
complete -c gpm -n "not __fish_seen_subcommand_from $cmds" -a "startOrReload startOrRestart reset scale env id pid flush reloadLogs sendSignal cleardump import ping version daemon conf report send attach help"
complete -c gpm -n "__fish_seen_subcommand_from start startOrReload startOrRestart" -F
complete -c gpm -n "__fish_seen_subcommand_from $targets" -a "all (__gpm_apps)"
complete -c gpm -n "__fish_seen_subcommand_from startup unstartup" -a "systemd launchd windows"
complete -c gpm -n "__fish_seen_subcommand_from startup unstartup" -l user -d "a service of your own service manager"
complete -c gpm -n "__fish_seen_subcommand_from startup unstartup" -s u -l username -x -a "(__fish_complete_users)" -d "run the daemon of this user"
complete -c gpm -n "__fish_seen_subcommand_from startup unstartup" -l service-name -x -d "the service name"
complete -c gpm -n "__fish_seen_subcommand_from startup unstartup" -l system -d "the machine's system daemon"
complete -c gpm -n "__fish_seen_subcommand_from startup unstartup" -l print -d "only print what would be written"
complete -c gpm -n "__fish_seen_subcommand_from daemon" -l resurrect -d "start the saved list first"
