# gunicorn reads this file from its working directory: run `gunicorn portal.wsgi` from
# the project root. What each setting is for: portal/gunicorn_edges.py and
# docs/operations.md. Command-line options (--workers, --threads, --bind) still apply.

# Ringba GET pixels carry every contact field in the URL; gunicorn's default request
# line (4094 bytes) cut long ones off. 8190 is gunicorn's largest; longer: POST.
limit_request_line = 8190
worker_class = "portal.gunicorn_edges.JsonErrorWorker"
logger_class = "portal.gunicorn_edges.RedactingLogger"
