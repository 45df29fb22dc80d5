-- wrk script: POST a body of N bytes (default 1 MiB = 1048576) per request.
--   wrk -t1 -c64 -d3s --latency -s benches/clients/wrk-post.lua http://127.0.0.1:PORT/upload -- 1048576
-- The request (head + body) is built once per thread; wrk writes it as one buffer per request.
init = function(args)
  local size = tonumber(args[1]) or 1048576
  local headers = { ["Content-Type"] = "application/octet-stream" }
  req = wrk.format("POST", nil, headers, string.rep("x", size))
end

request = function()
  return req
end
