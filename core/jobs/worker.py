"""The RQ worker class `congvu worker` runs.

RQ listens for commands (stop a job, shut down) on a pub/sub thread that waits up to
`sleep_time` for a message. redis-py 8.2 made `PubSubWorkerThread.stop()` join that
thread, and once the worker has unsubscribed the thread's wait lasts the whole
`sleep_time` — RQ's 60 s. A SIGTERM from systemd (or a deploy) then held the worker
for up to a minute after its last job, past a supervisor's stop timeout, and it was
killed. Listening with a one-second wait keeps shutdown prompt on every redis-py; the
extra cost is one idle read a second.
"""

from __future__ import annotations

from rq import Worker

PUBSUB_WAIT_SECONDS = 1.0


class CongvuWorker(Worker):
    def subscribe(self) -> None:
        """RQ's subscription, with a short wait on the listening thread (see above)."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=PUBSUB_WAIT_SECONDS, daemon=True, exception_handler=self._pubsub_exception_handler)
