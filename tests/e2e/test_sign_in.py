def test_analyst_signs_in_and_sees_the_dashboard(page, analyst):
    page.sign_in("alice")
    assert page.page.url.endswith("/")
    assert page.page.get_by_role("heading", name="Dashboard").is_visible()
    assert page.page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").is_visible()
    page.screenshot("dashboard")
    page.assert_clean()


def test_wrong_password_is_refused(page, analyst):
    page.sign_in("alice", password="not-the-password")
    assert "/login/" in page.page.url
    assert page.page.get_by_role("alert").is_visible()
    page.assert_clean()
