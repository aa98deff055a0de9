-- GET a shopper-portal page, as a shopper's browser does (BENCH_PORTAL_PAGE picks which):
--   portal_lookup  /<lang>/r/<store>/                    the lookup form; no session
--   portal_items   /<lang>/r/<store>/orders/<number>/    a session granted that order
--   portal_policy  /<lang>/r/<store>/policy/             the public policy page; no session
--   portal_status  /<lang>/r/<store>/returns/<number>/   a session granted the return's order
-- Requests alternate ar and en (path prefix and Accept-Language); the sessions are
-- bench/portal_seed.py's (sessions.csv: cookie,order_number,return_number_or_empty), each
-- sent with the CSRF cookie a browser holds after the lookup form. Host is the one wrk takes
-- from the URL (127.0.0.1:<port>; Django checks 127.0.0.1 against ALLOWED_HOSTS).
-- Every request is built once in init(), so wrk spends its CPU on sending, not on Lua.
-- Env: BENCH_WORK (portal_seed.py's --out), BENCH_PORTAL_PAGE, BENCH_CHECK=1 to count and
-- print answers other than 200 (bench/loadgen.py turns it on for the warm-up),
-- BENCH_THINK_MS="lo-hi": each connection is a shopper who reads a page for a random
-- lo..hi ms before asking for the next ("0" or unset: closed loop, no pause).
package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" .. package.path
local common = require("wrk_common")

local threads = {}
local page
local by_lang = {}  -- lang -> list of prebuilt requests
counter = 0

local LANGS = { "ar", "en" }
local ACCEPT_LANGUAGE = { ar = "ar-SA,ar;q=0.9,en;q=0.8", en = "en-US,en;q=0.9,ar;q=0.5" }

function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function init(args)
  page = common.env("BENCH_PORTAL_PAGE")
  local work = common.env("BENCH_WORK")
  local env = common.read_env(work .. "/portal_env")
  local host = wrk.headers["Host"]
  local function build(lang, path, cookie)
    local headers = {
      Host = host,
      Accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      ["Accept-Language"] = ACCEPT_LANGUAGE[lang],
    }
    if cookie then headers["Cookie"] = cookie end
    return wrk.format("GET", path, headers)
  end
  for _, lang in ipairs(LANGS) do
    local base = "/" .. lang .. "/r/" .. env.store .. "/"
    local list = {}
    if page == "portal_lookup" then
      list[1] = build(lang, base, nil)
    elseif page == "portal_policy" then
      list[1] = build(lang, base .. "policy/", nil)
    elseif page == "portal_items" or page == "portal_status" then
      for _, line in ipairs(common.read_lines(work .. "/sessions.csv")) do
        local key, number, ret = line:match("^([^,]+),([^,]+),(.*)$")
        local cookie = env.session_cookie .. "=" .. key .. "; " .. env.csrf_cookie
        if page == "portal_items" then
          list[#list + 1] = build(lang, base .. "orders/" .. number .. "/", cookie)
        elseif ret ~= "" then
          list[#list + 1] = build(lang, base .. "returns/" .. ret .. "/", cookie)
        end
      end
    else
      error("unknown BENCH_PORTAL_PAGE " .. page)
    end
    assert(#list > 0, "no requests for " .. page .. ": reseed (bench/run without --reuse)")
    by_lang[lang] = list
  end
  math.randomseed(os.time() + id * 7919)
end

-- wrk waits delay() ms before sending the connection's next request.
delay = common.think_delay()

function request()
  counter = counter + 1
  local list = by_lang[LANGS[counter % 2 + 1]]
  return list[math.random(#list)]
end

if os.getenv("BENCH_CHECK") == "1" then
  non_2xx, shown = 0, 0
  function response(status, headers, body)
    if status ~= 200 then
      non_2xx = non_2xx + 1
      if shown < 3 then
        shown = shown + 1
        local location = headers["Location"] or headers["location"] or ""
        io.stderr:write(page .. ": HTTP " .. status .. " " .. location .. " "
          .. body:sub(1, 300) .. "\n")
      end
    end
  end
end

function done(summary, latency, requests)
  local non_2xx = 0
  for _, t in ipairs(threads) do non_2xx = non_2xx + (t:get("non_2xx") or 0) end
  common.report(common.env("BENCH_PORTAL_PAGE"), summary, latency, {
    -- Here: answers other than 200 (a redirect to the lookup form means a lost session).
    non_2xx_counted = os.getenv("BENCH_CHECK") == "1" and tostring(non_2xx) or "null",
  })
end
