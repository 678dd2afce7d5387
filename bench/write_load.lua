-- wrk script for bench/write_load.py: every request registers a new model (POST /api/v1/models) under a name
-- unique per run, thread and request; counts 201, 503 and other statuses across threads and prints them.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  model_path, token, prefix = args[1], args[2], args[3]
  counter, created, busy, other = 0, 0, 0, 0
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
end

function request()
  counter = counter + 1
  local body = string.format('{"name": "%s-t%d-%d", "path": "%s"}', prefix, tid, counter, model_path)
  return wrk.format("POST", "/api/v1/models", headers, body)
end

function response(status, _headers, _body)
  if status == 201 then created = created + 1 elseif status == 503 then busy = busy + 1 else other = other + 1 end
end

function done(_summary, _latency, _requests)
  local c, b, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created"); b = b + thread:get("busy"); o = o + thread:get("other")
  end
  io.write(string.format("STATUS created=%d busy=%d other=%d\n", c, b, o))
end
