"""Bounces in the shapes real servers send, generated around a given original Message-ID and recipient.

- ``rfc3464_postfix``: multipart/report; report-type=delivery-status with the whole returned
  message (message/rfc822), as Postfix sends it.
- ``rfc3464_headers_only``: the returned headers only (text/rfc822-headers), as Exchange and
  Gmail send them, plus X-Failed-Recipients.
- ``qmail``: plain text, "<addr>:" reason lines and "--- Below this line is a copy of the message."
- ``docomo_jp``: a Japanese carrier's plain ISO-2022-JP notice quoting the original headers.
- ``au_jp_no_ids``: a Japanese carrier's Shift_JIS notice naming only the failed address.
"""

from __future__ import annotations


def _original(mid: str, rcpt: str, frm: str) -> str:
    return (
        f"From: Support <{frm}>\r\nTo: {rcpt}\r\nSubject: Re: =?UTF-8?B?6YWN6YCB44Gr44Gk44GE44Gm?=\r\n"
        f"Message-ID: <{mid}>\r\nDate: Tue, 24 Nov 2026 12:00:00 +0900\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    )


def rfc3464_postfix(mid: str, rcpt: str, frm: str = "support@example.test", *, bounce_id: str = "b1@mx.example.test") -> bytes:
    original = _original(mid, rcpt, frm) + "\r\nお問い合わせありがとうございます。\r\n"
    return (
        "Return-Path: <>\r\n"
        "From: MAILER-DAEMON@mx.example.test (Mail Delivery System)\r\n"
        f"To: {frm}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{bounce_id}>\r\nDate: Tue, 24 Nov 2026 12:00:05 +0900\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BND"\r\n\r\n'
        "--BND\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.example.test.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n"
        f"<{rcpt}>: host mx.example.jp[192.0.2.1] said: 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown\r\n\r\n"
        "--BND\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.test\r\nArrival-Date: Tue, 24 Nov 2026 12:00:01 +0900\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\nOriginal-Recipient: rfc822;{rcpt}\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nRemote-MTA: dns; mx.example.jp\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown\r\n\r\n"
        "--BND\r\nContent-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n"
        f"{original}\r\n--BND--\r\n"
    ).encode()


def rfc3464_headers_only(mid: str, rcpt: str, frm: str = "support@example.test", *, bounce_id: str = "b2@mail.example.net") -> bytes:
    return (
        "From: Mail Delivery Subsystem <mailer-daemon@mail.example.net>\r\n"
        f"To: {frm}\r\nSubject: Delivery Status Notification (Failure)\r\n"
        f"Message-ID: <{bounce_id}>\r\nDate: Tue, 24 Nov 2026 03:00:09 +0000\r\n"
        f"X-Failed-Recipients: {rcpt}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; boundary="000xyz"; report-type=delivery-status\r\n\r\n'
        "--000xyz\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
        f"Address not found\r\nYour message wasn't delivered to {rcpt} because the address couldn't be found.\r\n\r\n"
        "--000xyz\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.\r\n\r\n"
        "--000xyz\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{_original(mid, rcpt, frm)}\r\n--000xyz--\r\n"
    ).encode()


def qmail(mid: str, rcpt: str, frm: str = "support@example.test", *, bounce_id: str = "b3@qmail.example.org") -> bytes:
    return (
        "Return-Path: <>\r\n"
        f"From: MAILER-DAEMON@qmail.example.org\r\nTo: {frm}\r\n"
        "Subject: failure notice\r\n"
        f"Message-ID: <{bounce_id}>\r\nDate: 24 Nov 2026 03:00:10 -0000\r\n\r\n"
        "Hi. This is the qmail-send program at qmail.example.org.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        f"<{rcpt}>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        f"Return-Path: <{frm}>\r\n{_original(mid, rcpt, frm)}\r\nお問い合わせありがとうございます。\r\n"
    ).encode()


def docomo_jp(mid: str, rcpt: str, frm: str = "support@example.test", *, bounce_id: str = "b4@docomo.example.jp") -> bytes:
    body = (
        "このメールは自動送信されています。\n"
        "以下の宛先へメールを配信できませんでした。\n\n"
        f"宛先: {rcpt}\n"
        "理由: 宛先のメールアドレスが存在しません (550 Unknown user)\n\n"
        "----- 元のメッセージのヘッダ -----\n"
        f"Message-ID: <{mid}>\nFrom: {frm}\nTo: {rcpt}\nSubject: Re: 配送について\n"
    )
    return (
        "From: Mail Administrator <Postmaster@docomo.example.jp>\r\n"
        f"To: {frm}\r\nSubject: =?iso-2022-jp?b?GyRCR1s/LklURz0kTiQqQ04kaSQ7GyhC?=\r\n"
        f"Message-ID: <{bounce_id}>\r\nDate: Tue, 24 Nov 2026 12:00:11 +0900\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
    ).encode() + body.replace("\n", "\r\n").encode("iso-2022-jp")


def au_jp_no_ids(rcpt: str, frm: str = "support@example.test", *, bounce_id: str = "b5@au.example.jp") -> bytes:
    body = (
        "送信したメールは、以下の宛先に届きませんでした。\n\n"
        f"送信先: {rcpt}\n"
        "エラー内容: 宛先不明 (User unknown)\n"
    )
    return (
        "From: MAILER-DAEMON@au.example.jp\r\n"
        f"To: {frm}\r\nSubject: Undelivered Mail\r\n"
        f"Message-ID: <{bounce_id}>\r\nDate: Tue, 24 Nov 2026 12:00:12 +0900\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body.replace("\n", "\r\n").encode("cp932")


FORMATS = {
    "rfc3464 postfix": rfc3464_postfix,
    "rfc3464 headers only": rfc3464_headers_only,
    "qmail": qmail,
    "docomo (ISO-2022-JP)": docomo_jp,
}
