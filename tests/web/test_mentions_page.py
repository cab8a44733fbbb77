"""The mentions page on a real database file: marking seen never fails because the scheduler wrote meanwhile."""

from sqlalchemy import event, update

from inbox import create_app
from inbox.db import make_engine, utcnow
from inbox.models import Role, Thread
from inbox.services import notes
from tests.conftest import base_config
from tests.factories import login_as, make_mailbox, make_thread, make_user


def test_mentions_page_is_marked_seen_although_another_process_wrote_while_it_was_read(
    fresh_databases, tmp_path
):
    url = fresh_databases.migrated_url()
    app = create_app(base_config(tmp_path, url))
    runtime, other = app.extensions["inbox"], make_engine(url)
    try:
        with runtime.Session() as session:
            box = make_mailbox(session, "support")
            author = make_user(session, Role.AGENT, mailboxes=[box], name="作成者")
            reader = make_user(session, Role.AGENT, mailboxes=[box], email="reader@example.test")
            thread = make_thread(session, box, "返品について")
            notes.add_note(session, thread.id, "@reader 確認お願いします", by=author, now=utcnow())
            session.commit()
        client = app.test_client()
        login_as(client, reader)

        wrote: list[str] = []

        def store_mail_meanwhile(conn, cursor, statement, *args):  # the scheduler, say
            if "FROM mentions" in statement and not wrote:
                wrote.append(statement)
                with other.begin() as c:
                    c.execute(update(Thread).where(Thread.id == thread.id).values(message_count=2))

        event.listen(runtime.engine, "after_cursor_execute", store_mail_meanwhile)
        first = client.get("/mentions")
        event.remove(runtime.engine, "after_cursor_execute", store_mail_meanwhile)

        assert wrote, "the listing query was not seen"
        assert first.status_code == 200
        assert 'data-unseen="true"' in first.get_data(as_text=True)
        assert 'data-unseen="false"' in client.get("/mentions").get_data(as_text=True)
    finally:
        other.dispose()
        runtime.engine.dispose()
