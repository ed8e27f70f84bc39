# moto's server for tests/run and tests/lambda-bench (sourced; CACHE names the cache dir).
# install_moto: moto's server (and its Step Functions executor) in $CACHE/venv-moto.
install_moto() {
  if ! "$CACHE/venv-moto/bin/python" -c 'import moto, boto3' >/dev/null 2>&1; then
    python3 -m venv "$CACHE/venv-moto"
    "$CACHE/venv-moto/bin/pip" install --quiet --disable-pip-version-check "moto[server,stepfunctions]==5.2.5"
  fi
}
MOTO_PID=""
stop_moto() {
  if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID" && wait "$MOTO_PID" 2>/dev/null || true
  fi
  MOTO_PID=""
}
# start_moto: moto_server on a free loopback port, KEIYAKU_MOTO_URL once it answers.
start_moto() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$CACHE/venv-moto/bin/moto_server" -H 127.0.0.1 -p "$port" >"$CACHE/moto-server.log" 2>&1 &
  MOTO_PID=$!
  export KEIYAKU_MOTO_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fsS "$KEIYAKU_MOTO_URL/moto-api/" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "moto_server did not start (see $CACHE/moto-server.log)"
  return 1
}

