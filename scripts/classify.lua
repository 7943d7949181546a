-- wrk script: POST /v1/classify with a small query, as a support platform would.
-- Usage: wrk -t2 -c32 -d20s -s scripts/classify.lua http://127.0.0.1:8080/v1/classify
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TRIAGE_BENCH_KEY") or "bench-key")
wrk.body = '{"text": "I was charged twice for my subscription this month, please refund one of them", "subject": "Double charge"}'
