-- wrk: POST the lines of $BODIES in turn, each of the $THREADS threads (must
-- equal wrk's -t) its own slice. With ONCE=1 (use -t1) every line is sent
-- exactly once (first-time binds): when the slice is done the script stops
-- the thread and sends wrk SIGINT, so wrk reports the real elapsed time
-- instead of the -d duration.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
local bodies, i, once, signalled
function init(args)
  local all = {}
  for line in io.lines(os.getenv("BODIES")) do all[#all + 1] = line end
  local n = math.floor(#all / tonumber(os.getenv("THREADS") or "1"))
  bodies = {}
  for k = id * n + 1, (id + 1) * n do bodies[#bodies + 1] = all[k] end
  i, once, signalled = 0, os.getenv("ONCE") == "1", false
end
function request()
  i = i + 1
  if i > #bodies then
    if once then
      if not signalled then
        signalled = true
        -- system() ignores SIGINT in wrk while it runs: signal from behind.
        os.execute("(sleep 0.05; kill -INT $PPID) >/dev/null 2>&1 &")
      end
      wrk.thread:stop()
    end
    i = 1
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
