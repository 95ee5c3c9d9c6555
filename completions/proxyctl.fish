# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_proxyctl_global_optspecs
    string join \n socket= json timeout= h/help V/version
end

function __fish_proxyctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_proxyctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_proxyctl_using_subcommand
    set -l cmd (__fish_proxyctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c proxyctl -n "__fish_proxyctl_needs_command" -l socket -d 'Admin socket of the daemon' -r -F
complete -c proxyctl -n "__fish_proxyctl_needs_command" -l timeout -d 'How long to wait for the daemon, e.g. "5s" or "500ms" [default: 5s per request; 30s in total for wait-ready]' -r
complete -c proxyctl -n "__fish_proxyctl_needs_command" -l json -d 'Print one JSON document on stdout instead of text'
complete -c proxyctl -n "__fish_proxyctl_needs_command" -s h -l help -d 'Print help'
complete -c proxyctl -n "__fish_proxyctl_needs_command" -s V -l version -d 'Print version'
complete -c proxyctl -n "__fish_proxyctl_needs_command" -f -a "reload" -d 'Ask the daemon to reload its config; print what changed, or the error'
complete -c proxyctl -n "__fish_proxyctl_needs_command" -f -a "status" -d 'Show the daemon, its listeners, upstream servers and certificates'
complete -c proxyctl -n "__fish_proxyctl_needs_command" -f -a "check-config" -d 'Validate a config file locally, as `proxyd --check` does (no daemon needed)'
complete -c proxyctl -n "__fish_proxyctl_needs_command" -f -a "wait-ready" -d 'Poll until the daemon reports ready (or --timeout passes)'
complete -c proxyctl -n "__fish_proxyctl_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c proxyctl -n "__fish_proxyctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand reload" -l socket -d 'Admin socket of the daemon' -r -F
complete -c proxyctl -n "__fish_proxyctl_using_subcommand reload" -l timeout -d 'How long to wait for the daemon, e.g. "5s" or "500ms" [default: 5s per request; 30s in total for wait-ready]' -r
complete -c proxyctl -n "__fish_proxyctl_using_subcommand reload" -l json -d 'Print one JSON document on stdout instead of text'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand reload" -s h -l help -d 'Print help'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand reload" -s V -l version -d 'Print version'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand status" -l socket -d 'Admin socket of the daemon' -r -F
complete -c proxyctl -n "__fish_proxyctl_using_subcommand status" -l timeout -d 'How long to wait for the daemon, e.g. "5s" or "500ms" [default: 5s per request; 30s in total for wait-ready]' -r
complete -c proxyctl -n "__fish_proxyctl_using_subcommand status" -l json -d 'Print one JSON document on stdout instead of text'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand status" -s V -l version -d 'Print version'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand check-config" -l socket -d 'Admin socket of the daemon' -r -F
complete -c proxyctl -n "__fish_proxyctl_using_subcommand check-config" -l timeout -d 'How long to wait for the daemon, e.g. "5s" or "500ms" [default: 5s per request; 30s in total for wait-ready]' -r
complete -c proxyctl -n "__fish_proxyctl_using_subcommand check-config" -l strict -d 'Treat warnings as errors'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand check-config" -l json -d 'Print one JSON document on stdout instead of text'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand check-config" -s h -l help -d 'Print help'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand check-config" -s V -l version -d 'Print version'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand wait-ready" -l generation -d 'Also wait until the running config generation is at least N' -r
complete -c proxyctl -n "__fish_proxyctl_using_subcommand wait-ready" -l socket -d 'Admin socket of the daemon' -r -F
complete -c proxyctl -n "__fish_proxyctl_using_subcommand wait-ready" -l timeout -d 'How long to wait for the daemon, e.g. "5s" or "500ms" [default: 5s per request; 30s in total for wait-ready]' -r
complete -c proxyctl -n "__fish_proxyctl_using_subcommand wait-ready" -l healthy -d 'Also wait until every upstream has at least one healthy server'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand wait-ready" -l certificates -d 'Also wait until every TLS site holds a certificate that has not expired'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand wait-ready" -l json -d 'Print one JSON document on stdout instead of text'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand wait-ready" -s h -l help -d 'Print help'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand wait-ready" -s V -l version -d 'Print version'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand completions" -l socket -d 'Admin socket of the daemon' -r -F
complete -c proxyctl -n "__fish_proxyctl_using_subcommand completions" -l timeout -d 'How long to wait for the daemon, e.g. "5s" or "500ms" [default: 5s per request; 30s in total for wait-ready]' -r
complete -c proxyctl -n "__fish_proxyctl_using_subcommand completions" -l json -d 'Print one JSON document on stdout instead of text'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand help; and not __fish_seen_subcommand_from reload status check-config wait-ready completions help" -f -a "reload" -d 'Ask the daemon to reload its config; print what changed, or the error'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand help; and not __fish_seen_subcommand_from reload status check-config wait-ready completions help" -f -a "status" -d 'Show the daemon, its listeners, upstream servers and certificates'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand help; and not __fish_seen_subcommand_from reload status check-config wait-ready completions help" -f -a "check-config" -d 'Validate a config file locally, as `proxyd --check` does (no daemon needed)'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand help; and not __fish_seen_subcommand_from reload status check-config wait-ready completions help" -f -a "wait-ready" -d 'Poll until the daemon reports ready (or --timeout passes)'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand help; and not __fish_seen_subcommand_from reload status check-config wait-ready completions help" -f -a "completions" -d 'Print shell completions'
complete -c proxyctl -n "__fish_proxyctl_using_subcommand help; and not __fish_seen_subcommand_from reload status check-config wait-ready completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
