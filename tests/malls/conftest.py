"""Stub malls holding one customer inquiry each, for the reply and completion tests."""

from datetime import timedelta

import pytest

from inbox.db import utcnow
from tests.malls import INQ
from tests.support.mall_stubs import RakutenStub, YahooStub


@pytest.fixture
def rakuten():
    with RakutenStub() as s:
        s.add_inquiry(INQ, "サイズ交換できますか", utcnow() - timedelta(hours=2))
        yield s


@pytest.fixture
def yahoo():
    with YahooStub() as s:
        s.add_topic("topic-1", "ラッピング", "ギフト包装できますか", utcnow() - timedelta(hours=2))
        yield s
