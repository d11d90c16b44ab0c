"""Bare Flask baselines: what the box allows before APG adds anything.

Served by the same gunicorn configuration as APG (`gunicorn --config gunicorn.conf.py
bench.baselines:app`), on the same PostgreSQL, with a pooled SQLAlchemy engine like APG's:

- POST /echo    parse the JSON body, answer a small JSON object;
- POST /insert  INSERT the raw body, commit (one durable write), answer;
- POST /two     INSERT, commit, UPDATE that row, commit (two durable writes), answer.

BENCH_DATABASE_URL names the database; `create_table` makes the table before gunicorn starts.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from sqlalchemy import create_engine, text

ENGINE = create_engine(  # created lazily: nothing connects at import
    os.environ.get("BENCH_DATABASE_URL", "postgresql://").replace(
        "postgresql://", "postgresql+psycopg://", 1
    ),
    pool_size=int(os.environ.get("BENCH_POOL_SIZE", "10")),
)
INSERT = text("INSERT INTO bench_baseline (body, outcome) VALUES (:body, 'received') RETURNING id")
UPDATE = text("UPDATE bench_baseline SET outcome = 'processed' WHERE id = :id")

TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_baseline (id bigserial PRIMARY KEY, body bytea, "
    "received_at timestamptz NOT NULL DEFAULT now(), outcome text NOT NULL)"
)


def create_table(database_url: str) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(TABLE)


app = Flask(__name__)


@app.post("/echo")
def echo() -> dict[str, Any]:
    body = request.get_json()
    return {"ResultCode": 0, "ResultDesc": "Accepted", "keys": len(body)}


@app.post("/insert")
def insert() -> dict[str, Any]:
    raw = request.get_data()
    request.get_json()
    with ENGINE.begin() as connection:
        row_id = connection.execute(INSERT, {"body": raw}).scalar_one()
    return {"ResultCode": 0, "ResultDesc": "Accepted", "id": row_id}


@app.post("/two")
def two() -> dict[str, Any]:
    raw = request.get_data()
    request.get_json()
    with ENGINE.begin() as connection:
        row_id = connection.execute(INSERT, {"body": raw}).scalar_one()
    with ENGINE.begin() as connection:
        connection.execute(UPDATE, {"id": row_id})
    return {"ResultCode": 0, "ResultDesc": "Accepted", "id": row_id}
