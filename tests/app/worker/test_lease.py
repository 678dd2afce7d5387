"""Leasing rules on both databases: claim order, expiry, attempts, renewal after cancel, graceful release, retry
back-off and a worker preferring jobs it did not fail."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app.db.base import utcnow
from app.db.models import Job, Model
from app.queries.jobs import cancel_job
from app.worker.lease import claim_job, fail_job, release_lease, renew_lease, retry_delay_seconds


def add_jobs(session_factory, count: int) -> list[int]:
    with session_factory() as session:
        model = Model(name="m", path="/m", source="local", tags=[])
        session.add(model)
        session.flush()
        jobs = [Job(model_id=model.id, benchmark="mmlu", template="colossaleval", config={}) for _ in range(count)]
        session.add_all(jobs)
        session.commit()
        return [j.id for j in jobs]


def get(session_factory, job_id: int) -> Job:
    with session_factory() as session:
        return session.get(Job, job_id)


def expire(session_factory, job_id: int) -> None:
    with session_factory() as session:
        session.execute(update(Job).where(Job.id == job_id).values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()


def test_claims_oldest_first_and_each_job_once(session_factory) -> None:
    ids = add_jobs(session_factory, 2)
    first = claim_job(session_factory, "w1", 30, 3)
    second = claim_job(session_factory, "w2", 30, 3)
    assert (first.id, second.id) == tuple(ids)
    assert claim_job(session_factory, "w3", 30, 3) is None
    job = get(session_factory, ids[0])
    assert (job.status, job.lease_owner, job.attempts) == ("running", "w1", 1)
    assert first.model_name == "m" and first.model_source == "local"


def test_expired_lease_is_claimable_again(session_factory) -> None:
    [job_id] = add_jobs(session_factory, 1)
    claim_job(session_factory, "w1", 30, 3)
    assert claim_job(session_factory, "w2", 30, 3) is None
    expire(session_factory, job_id)
    again = claim_job(session_factory, "w2", 30, 3)
    assert again.id == job_id and again.attempts == 2
    assert "w1" in get(session_factory, job_id).error
    assert not renew_lease(session_factory, job_id, "w1", 30)  # the old owner cannot renew any more
    assert renew_lease(session_factory, job_id, "w2", 30, progress=(3, 10))
    assert get(session_factory, job_id).progress_done == 3


def test_fails_after_max_attempts_with_reason(session_factory) -> None:
    [job_id] = add_jobs(session_factory, 1)
    for owner in ("w1", "w2"):
        assert claim_job(session_factory, owner, 30, 2) is not None
        expire(session_factory, job_id)
    assert claim_job(session_factory, "w3", 30, 2) is None
    job = get(session_factory, job_id)
    assert job.status == "failed"
    assert "gave up after 2 attempts" in job.error and "w2" in job.error


def test_cancel_stops_renewal(session_factory) -> None:
    [job_id] = add_jobs(session_factory, 1)
    claim_job(session_factory, "w1", 30, 3)
    with session_factory() as session:
        cancel_job(session, job_id)
        session.commit()
    assert not renew_lease(session_factory, job_id, "w1", 30)
    assert get(session_factory, job_id).status == "cancelled"


def test_release_requeues_without_counting_the_attempt(session_factory) -> None:
    [job_id] = add_jobs(session_factory, 1)
    claim_job(session_factory, "w1", 30, 3)
    assert release_lease(session_factory, job_id, "w1")
    job = get(session_factory, job_id)
    assert (job.status, job.attempts, job.lease_owner) == ("queued", 0, None)


def test_fail_job_retries_until_attempts_run_out(session_factory) -> None:
    [job_id] = add_jobs(session_factory, 1)
    claim_job(session_factory, "w1", 30, 2)
    assert fail_job(session_factory, job_id, "w1", "boom", retry=True, max_attempts=2) == "queued"
    claim_job(session_factory, "w1", 30, 2)
    assert fail_job(session_factory, job_id, "w1", "boom again", retry=True, max_attempts=2) == "failed"
    assert get(session_factory, job_id).error == "boom again"
    assert fail_job(session_factory, job_id, "w1", "late", retry=False, max_attempts=2) is None


def make_due(session_factory, job_id: int) -> None:
    with session_factory() as session:
        session.execute(update(Job).where(Job.id == job_id).values(not_before=utcnow() - timedelta(seconds=1)))
        session.commit()


def test_retry_delay_doubles_up_to_the_cap() -> None:
    assert [retry_delay_seconds(n, 30, 200) for n in range(1, 6)] == [30, 60, 120, 200, 200]
    assert retry_delay_seconds(3, 0, 600) == 0


def test_failed_attempt_waits_for_its_back_off_before_it_is_claimed_again(session_factory) -> None:
    [job_id] = add_jobs(session_factory, 1)
    backoff = {"max_attempts": 3, "backoff_seconds": 60, "backoff_max_seconds": 90}
    for attempt, delay in ((1, 60), (2, 90)):
        assert claim_job(session_factory, "w1", 30, 3).attempts == attempt
        before = utcnow()
        assert fail_job(session_factory, job_id, "w1", f"boom {attempt}", retry=True, **backoff) == "queued"
        job = get(session_factory, job_id)
        assert job.status == "queued" and job.error == f"boom {attempt}"
        assert before + timedelta(seconds=delay) <= job.not_before <= utcnow() + timedelta(seconds=delay)
        assert claim_job(session_factory, "w1", 30, 3) is None  # not yet
        assert claim_job(session_factory, "w2", 30, 3) is None  # not for anyone
        make_due(session_factory, job_id)
    again = claim_job(session_factory, "w2", 30, 3)
    assert again is not None and again.attempts == 3 and get(session_factory, job_id).not_before is None


def test_worker_prefers_jobs_it_did_not_fail(session_factory) -> None:
    failed, other = add_jobs(session_factory, 2)
    claim_job(session_factory, "w1", 30, 3)
    assert fail_job(session_factory, failed, "w1", "boom", retry=True, max_attempts=3) == "queued"  # no back-off
    assert claim_job(session_factory, "w1", 30, 3, avoid={failed}).id == other
    assert claim_job(session_factory, "w1", 30, 3, avoid={failed}).id == failed  # nothing else left: take it
