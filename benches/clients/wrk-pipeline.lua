-- wrk script: pipelines N requests (default 16) per write on every connection.
--   wrk -t1 -c64 -d3s --latency -s benches/clients/wrk-pipeline.lua http://127.0.0.1:PORT/ -- 16
-- wrk sends the N requests in one buffer and waits for all N responses before the next write; it counts
-- every response as a request. Latency is recorded per batch (write → last of the N responses).
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
