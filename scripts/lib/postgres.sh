# Shell helpers to run a private PostgreSQL 15 in a temp dir (sourced by scripts/dev-stack and
# bench/). The server refuses root, so as root it runs as the `postgres` user.
PG_BIN=/usr/lib/postgresql/15/bin

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_start DIR PORT [extra postgresql.conf lines...]: initdb and start; sets PG_PID.
pg_start() {
  local dir=$1 port=$2; shift 2
  PG_DIR=$dir
  mkdir -p "$dir/sock"
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$dir"; fi
  as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir/sock'"
    echo "fsync = off"
    echo "synchronous_commit = off"
    local line
    for line in "$@"; do echo "$line"; done
  } >>"$dir/data/postgresql.conf"
  as_postgres "$PG_BIN/postgres" -D "$dir/data" >"$dir/postgres.log" 2>&1 &
  PG_PID=$!
  local i
  for i in $(seq 1 100); do
    if "$PG_BIN/pg_isready" -q -h "$dir/sock" -p "$port"; then return 0; fi
    if ! kill -0 "$PG_PID" 2>/dev/null; then
      echo "postgres failed to start; its log:" >&2
      cat "$dir/postgres.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "postgres did not become ready in 10 s" >&2
  return 1
}

# pg_stop: fast shutdown of the server started by pg_start.
pg_stop() {
  if [[ -n ${PG_PID:-} ]] && kill -0 "$PG_PID" 2>/dev/null; then
    # As root PG_PID is runuser, which does not pass SIGINT on: the postmaster itself (the first
    # line of its postmaster.pid, the server pg_start started) is signalled instead.
    local target=$PG_PID
    if [[ -n ${PG_DIR:-} && -s $PG_DIR/data/postmaster.pid ]]; then
      target=$(head -n1 "$PG_DIR/data/postmaster.pid")
    fi
    kill -INT "$target" 2>/dev/null || true
    wait "$PG_PID" 2>/dev/null || true
  fi
  PG_PID=
}

# free_port: a loopback port nobody listens on now.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
