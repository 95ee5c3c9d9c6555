complete -c proxyd -s c -l config -d 'Config file to read' -r -F
complete -c proxyd -l log-format -d 'Log format; overrides `[runtime] log_format`' -r -f -a "json\t'One JSON object per line'
text\t'Human-readable lines'"
complete -c proxyd -l check -d 'Validate the config exactly as startup would (certificates included), print any errors and warnings, and exit 0 (valid) or 1 (invalid)'
complete -c proxyd -s h -l help -d 'Print help (see more with \'--help\')'
complete -c proxyd -s V -l version -d 'Print version'
