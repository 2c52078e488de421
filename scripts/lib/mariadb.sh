# Shell helpers to run a private MariaDB in a temp dir (sourced by scripts/dev-stack). As root,
# mariadbd drops to the `mysql` user itself (--user), and its directory belongs to that user.

# mariadb_start DIR PORT: install a data directory and start; sets MARIADB_PID.
mariadb_start() {
  local dir=$1 port=$2 user_args=()
  mkdir -p "$dir"
  if [[ $(id -u) -eq 0 ]]; then chown mysql:mysql "$dir"; user_args=(--user=mysql); fi
  mariadb-install-db --no-defaults --datadir="$dir/data" --auth-root-authentication-method=normal \
    --skip-test-db "${user_args[@]}" >/dev/null
  mariadbd --no-defaults --datadir="$dir/data" --port="$port" --bind-address=127.0.0.1 \
    --socket="$dir/mariadb.sock" --pid-file="$dir/mariadb.pid" --log-error="$dir/error.log" \
    --local-infile=1 --innodb-buffer-pool-size=64M "${user_args[@]}" &
  MARIADB_PID=$!
  local i
  for i in $(seq 1 150); do
    if mariadb-admin --no-defaults --socket="$dir/mariadb.sock" -uroot ping >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$MARIADB_PID" 2>/dev/null; then
      echo "mariadbd exited; see $dir/error.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "mariadbd did not become ready" >&2
  return 1
}

# mariadb_root DIR: the mariadb client as root over the server's own socket.
mariadb_root() {
  local dir=$1; shift
  mariadb --no-defaults --socket="$dir/mariadb.sock" -uroot "$@"
}

mariadb_stop() {
  if [[ -n ${MARIADB_PID:-} ]] && kill -0 "$MARIADB_PID" 2>/dev/null; then
    kill -TERM "$MARIADB_PID"
    wait "$MARIADB_PID" 2>/dev/null || true
  fi
}
