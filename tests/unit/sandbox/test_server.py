"""The sandbox's HTTP server keeps connections alive without mixing up requests."""

import requests

from connector.sandbox import SandboxServer


def test_calls_share_one_connection_and_an_unread_body_does_not_leak_into_the_next_call(
) -> None:
    with SandboxServer(seed=False) as sandbox, requests.Session() as session:
        form = {"wstoken": sandbox.admin_token, "wsfunction": "core_webservice_get_site_info",
                "moodlewsrestformat": "json"}
        # a body no route reads: it must not be taken for the start of the next request
        lost = session.post(f"{sandbox.url}/no/such/page", data="x=" + "y" * 5000)
        answers = [session.post(sandbox.rest_url, data=form) for _ in range(5)]
        pools = session.get_adapter(sandbox.url).poolmanager.pools
        # urllib3's pool container refuses plain iteration; keys() is its way
        connections = sum(pools[key].num_connections for key in pools.keys())  # noqa: SIM118
    assert lost.status_code == 404
    assert [a.json()["siteurl"] for a in answers] == [sandbox.url] * 5
    assert all("close" not in a.headers.get("Connection", "") for a in answers)
    assert connections == 1
