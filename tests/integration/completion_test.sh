# Bash completion (packaging/bash-completion/openoserv) against a live instance: options from a
# command's --help, subcommands, instance IDs from the instances file, dispatcher numbers from
# odadmin odlist.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=packaging/bash-completion/openoserv
. "$(dirname "$0")/../../packaging/bash-completion/openoserv"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
install_instance spare 127.0.0.3 "$PORT" >/dev/null
expect_code "start" 0 rc oserv start

# complete WORD...: what completing the last word offers, sorted, on one line.
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMPREPLY=()
  _openoserv
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '
}

step "options, from the command's --help"
expect_contains "odadmin --i" "--id" "$(complete_line odadmin --i)"
expect_contains "wep -" "--gateway" "$(complete_line wep --g)"
expect_contains "oinstall --st" "--standby" "$(complete_line oinstall --st)"

step "instance IDs after --id"
expect_eq "both instances" "oserv spare " "$(complete_line odadmin --id '')"
expect_eq "by prefix" "spare " "$(complete_line odb --id s)"

step "subcommands"
expect_eq "odadmin set_" "set_allow_rconnect set_force_bind set_replication " "$(complete_line odadmin set_)"
expect_eq "after an option and its value" "replication " "$(complete_line odadmin --id oserv rep)"
expect_eq "odlist edits" "add_hostname_alias change_ip delete_hostname_alias " "$(complete_line odadmin odlist '')"
expect_eq "odb tables" "objects odlist " "$(complete_line odb put 12 o)"
expect_eq "wgateway actions" "sessions start status stop " "$(complete_line wgateway gw1 s)"

step "dispatcher numbers, from the selected instance's odlist"
expect_eq "shutdown" "1 all " "$(complete_line odadmin --id oserv shutdown '')"
expect_eq "change_ip" "1 " "$(complete_line odadmin odlist change_ip '')"
echo "PASS"
