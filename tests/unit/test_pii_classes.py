"""Detection classes added for disguised and loosely written values: Unicode
tricks, percent-encoding, token prefixes glued to other words, credentials in
prose and command-line flags, host names under any public suffix, phone
numbers and SSNs written without their usual separators. Each class comes
with the false-positive traps that keep it honest."""

from __future__ import annotations

import random
import re

import pytest
from tftsr.pii import assignments, detect_pii, validators
from tftsr.pii.patterns import finditer


def found(text: str) -> list[tuple[str, str]]:
    spans = detect_pii(text)
    for span in spans:
        assert text[span.start:span.end] == span.original
    return [(s.pii_type, s.original) for s in spans]


# --- Unicode ----------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    # Cyrillic "а" inside the key
    ("db pаssword=Winter2024x", ("Password", "Winter2024x")),
    # Greek omicron and Cyrillic "р" in "token"/"password"
    ("client_tοken=SBeVRsfAGeAbP0VxNjAe9i0mYtluYI0", ("SecretAssignment", "SBeVRsfAGeAbP0VxNjAe9i0mYtluYI0")),
    ("раssword: Hunter2024x", ("Password", "Hunter2024x")),
    # full-width key, value, digits and at sign
    ("ｐａｓｓｗｏｒｄ＝Ｈｕｎｔｅｒ２０２４", ("Password", "Ｈｕｎｔｅｒ２０２４")),
    ("peer １０．２０．３０．４０ refused", ("Ipv4", "１０．２０．３０．４０")),
    ("notify alice＠example.com", ("Email", "alice＠example.com")),
    ("notify ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", ("Email", "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ")),
    # zero-width characters inside a token and a key
    ("token ghp_u8jzPde0Igx\u200bLd6GncfBAepfJBd0Kh8oOOL8d",
     ("GitHubToken", "ghp_u8jzPde0Igx\u200bLd6GncfBAepfJBd0Kh8oOOL8d")),
    ("AKIA2IDW52\u200dIJB4LAJLJ6 used", ("AwsAccessKey", "AKIA2IDW52\u200dIJB4LAJLJ6")),
    ("pass\u200bword=Winter2024x", ("Password", "Winter2024x")),
    ("pass\u00adword=Winter2024x", ("Password", "Winter2024x")),
    ("\ufeffpassword=Winter2024x", ("Password", "Winter2024x")),
    ("bob\u2060@example.com", ("Email", "bob\u2060@example.com")),
    # no-break and other odd spaces as separators
    ("ssn\u00a0219-09-9999", ("Ssn", "219-09-9999")),
    ("card\u202f4111\u00a01111\u00a01111\u00a01111", ("CreditCard", "4111\u00a01111\u00a01111\u00a01111")),
    ("Authorization:\u2003Bearer\u00a00b79bab50daca910b000d4f1a2b675d604257e42",
     ("BearerToken", "0b79bab50daca910b000d4f1a2b675d604257e42")),
])
def test_unicode_disguises(text, expected):
    assert expected in found(text)


def test_unicode_offsets_map_back_around_expanded_and_removed_characters():
    # "ﬁ" becomes two letters, "…" three dots, "\u200b" nothing: the findings
    # after them still index the original text
    text = "ﬁle…\u200b\u200b reached 10.0.0.1 from ﬁona@example.com\u200b and ２０１.０.１１３.５"
    assert found(text) == [("Ipv4", "10.0.0.1"), ("Email", "ﬁona@example.com"),
                           ("Ipv4", "２０１.０.１１３.５")]


def test_offsets_map_back_around_removed_and_expanded_characters_on_random_texts():
    """The normalised text is made in one step and its offset map when a finding is
    first mapped back; every offset maps as worked out here a character at a time:
    a run of removed or expanded characters is one piece, a span starting inside it
    starts at the piece and one ending inside it takes all of it."""
    import random

    from tftsr.pii import normalize

    def reference(text):
        starts, ends, i = [], [], 0
        while i < len(text):
            j = i
            while j < len(text) and len(normalize.normal_char(text[j])) != 1:
                j += 1
            if j == i:  # a character left as it is
                starts.append(i)
                ends.append(i + 1)
                i += 1
                continue
            width = sum(len(normalize.normal_char(c)) for c in text[i:j])
            starts += [i] * width
            ends += [j] * width
            i = j
        return starts, ends

    rng = random.Random(9)
    pieces = ["a", "b", "1", ".", " ", "@", "\u200b", "\u200d", "\ufeff", "ﬁ", "…", "½", "é", "ж"]
    checked = 0
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        norm, mapping = normalize.normalise(text)
        if mapping is None:
            continue
        starts, ends = reference(text)
        assert len(starts) == len(norm)
        for pos in range(len(norm)):
            assert mapping.start(pos) == starts[pos], (text, pos)
            assert mapping.end(pos + 1) == ends[pos], (text, pos)
        checked += 1
    assert checked > 1000


def test_unicode_traps():
    # Russian and Greek words keep their letters; a look-alike only counts
    # when it touches a Latin letter
    assert found("пароль: сервер порт ошибка; κωδικός πρόσβασης") == []
    assert found("Ünïcødé ☃ 日本語 ½ ① ™ № résumé naïve") == []
    # a lone look-alike between spaces does not build a key
    assert found("р а ѕ ѕ = Winter2024x") == []


def test_look_alikes_replaced_in_one_step_where_no_word_keeps_them():
    """Where no run of look-alikes stands apart from Latin letters, every one is
    replaced at once; the result is the run-by-run replacement's on seeded random
    mixes of Latin, look-alike, other Cyrillic and Greek letters and separators."""
    import random

    from tftsr.pii import normalize

    def run_by_run(text):
        return normalize._CONFUSABLE_RUN.sub(
            lambda m: m.group().translate(normalize._CONFUSABLE_TABLE), text)

    rng = random.Random(5)
    letters = list("abpsxZ ._-=1") + list("аеорсуАВЕКМНОРСТХαορΑΒ") + ["ж", "ю", "Ω", "é"]
    both = 0
    for _ in range(20000):
        text = "".join(rng.choice(letters) for _ in range(rng.randint(1, 14)))
        if not any(c in normalize.CONFUSABLES for c in text):
            continue
        both += normalize._CONFUSABLE_ALONE.search(text) is None
        assert normalize.normalise(text)[0] == run_by_run(text), text
    assert both > 1000  # the one-step replacement was exercised, not only the other


# --- percent-encoding ---------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("GET /invite?to=bob.martin%40gmail.com&x=1", ("Email", "bob.martin%40gmail.com")),
    ("q=BOB%40EXAMPLE.COM", ("Email", "BOB%40EXAMPLE.COM")),
    ("next=ops%2Bpager%40acme.io", ("Email", "ops%2Bpager%40acme.io")),
    ("redirect=https%3A%2F%2Fsvc%3AS3cretPw9%40db.example.com%2Fx",
     ("UrlWithCredentials", "svc%3AS3cretPw9")),
    ("sig=Qm7wZp3Lx9Rv2Tn8Bc4Dk6Fj1Gs5Ha0Ke%3D&se=1", ("SecretAssignment", "Qm7wZp3Lx9Rv2Tn8Bc4Dk6Fj1Gs5Ha0Ke%3D")),
    ("addr=fe80%3A%3A1ff%3Afe23%3A4567%3A890a", ("Ipv6", "fe80%3A%3A1ff%3Afe23%3A4567%3A890a")),
])
def test_percent_encoded(text, expected):
    assert expected in found(text)


def test_percent_encoded_value_keeps_its_encoded_ampersand():
    assert found("GET /login?user=a&password=p%26ss%20w0rd&next=/") == [("Password", "p%26ss%20w0rd")]


def test_an_empty_query_parameter_lends_nothing_to_the_next():
    # in a query string every "&" ends a value, even an empty one
    assert found("GET /cb?token=&state=Qm7wZp3Lx9Rv2Tn8Bc4Dk6F") == []
    assert found("GET /cb?sig=&password=Winter2024x") == [("Password", "Winter2024x")]
    assert found("GET /cb?sig=Qm7wZp3Lx9Rv2Tn8Bc4Dk6F&x=1") == [
        ("SecretAssignment", "Qm7wZp3Lx9Rv2Tn8Bc4Dk6F")]


def test_a_pipe_before_the_next_field_ends_a_value():
    """In a pipe-separated line, "|name=" starts the next field, as "&name=" does in a
    query string: the password is its own field, not the rest of the line; a "|"
    not followed by a name and "=" is part of the value."""
    assert found("user=bob|phone=N/A|password=Hx7#kq2z|role=admin|client=10.0.0.1") == [
        ("Password", "Hx7#kq2z"), ("Ipv4", "10.0.0.1")]
    assert found("token=abc|password=Winter2024x") == [("Password", "Winter2024x")]
    assert found("password=Hx7|kq2z|role=admin") == [("Password", "Hx7|kq2z")]


def test_percent_traps():
    assert found("progress 45.5% done, cpu 100%, rate 3%/s, 50%40 split") == []
    assert found("GET /static/app%2Emin.js?v=1%2E2%2E3") == []


# --- token prefixes after any non-alphanumeric ----------------------------------------
GHP = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d"


@pytest.mark.parametrize("text, expected", [
    (f"export CFG_{GHP}", ("GitHubToken", GHP)),
    (f"cfg_{GHP}.txt", ("GitHubToken", GHP)),
    ("backup-AKIA2IDW52IJB4LAJLJ6.csv uploaded", ("AwsAccessKey", "AKIA2IDW52IJB4LAJLJ6")),
    ("role/ASIA2IDW52IJB4LAJLJ6:session", ("AwsAccessKey", "ASIA2IDW52IJB4LAJLJ6")),
    ("key_gho_16C7e42F292c6912E7710c838347Ae178B4a9 ok", ("GitHubToken", "gho_16C7e42F292c6912E7710c838347Ae178B4a9")),
    ("x-github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345",
     ("GitHubToken", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz012345")),
    ("runner_glrt-8xNbe3nNyjOq9wMxEhh2Kp", ("GitLabToken", "glrt-8xNbe3nNyjOq9wMxEhh2Kp")),
    ("deploy/glpat-8xNbe3nNyjOq9wMxEhh2", ("GitLabToken", "glpat-8xNbe3nNyjOq9wMxEhh2")),
    ("hook.slack_xoxb-777741215472-8038528084148-x6kwXoIIXGvOoNZYW2mZp0zV",
     ("SlackToken", "xoxb-777741215472-8038528084148-x6kwXoIIXGvOoNZYW2mZp0zV")),
    ("env_sk-ant-api03-Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzL", ("ApiKey", "sk-ant-api03-Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzL")),
    ("maps=AIzaFI3OyV2dZAkg05rK-gqv81RKMGHZEM9Ypvu", ("ApiKey", "AIzaFI3OyV2dZAkg05rK-gqv81RKMGHZEM9Ypvu")),
    ("//registry/:_authToken=npm_Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzL",
     ("ApiKey", "npm_Caqx9vJupc94tnwlavyfErGPmpGXafq0fjzL")),
])
def test_token_prefix_after_any_non_alphanumeric(text, expected):
    assert expected in found(text)


def test_token_prefix_traps():
    # glued to a letter or digit: the middle of a longer word or id
    assert found(f"xghp_{GHP[4:]} 1AKIA2IDW52IJB4LAJLJ6 task-runner-sk-prod-cluster-node-pool") == []
    assert found("disk-usage sk-prod-cluster-node-pool-west ask-for-help") == []


# --- credentials in prose and command-line flags ---------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("the admin password is Adm1n!2024.", ("Password", "Adm1n!2024")),
    ("Note: root password was changed to Summer2025 yesterday", ("Password", "Summer2025")),
    ("the vpn passphrase is 'correct horse battery'", ("Password", "correct horse battery")),
    ("password: Winter-2024", ("Password", "Winter-2024")),
    ("Password for 'admin': S3cret-99", ("Password", "S3cret-99")),
    ("Password for user svc_backup: Bkp#2024x", ("Password", "Bkp#2024x")),
    ("login with password 'hunter2' failed", ("Password", "hunter2")),
    ("$ psql --host db --password Pg#Secret9 orders", ("Password", "Pg#Secret9")),
    ("deploy.sh --db-password 'p@ss w0rd' --env prod", ("Password", "p@ss w0rd")),
    ("wget --password=X9secret1 https://example.com/f", ("Password", "X9secret1")),
    ("kubectl --token 5f3a2c11d9e8c7b6a5f4e3d2 get pods", ("SecretAssignment", "5f3a2c11d9e8c7b6a5f4e3d2")),
    ("tool --api-key 9a8b7c6d5e4f3a2b1c0d9e8f", ("ApiKey", "9a8b7c6d5e4f3a2b1c0d9e8f")),
    ("mysql -uroot -p'My S3cret' orders", ("Password", "My S3cret")),
    ("mysqldump -u backup -pB4ckup! --all-databases", ("Password", "B4ckup!")),
    ("sshpass -p 'Ssh#Pass1' ssh deploy@10.0.0.4", ("Password", "Ssh#Pass1")),
    ("sshpass -pSshPass1 scp a b", ("Password", "SshPass1")),
    ("PGPASSWORD=Pg5ecret psql -h db -U app", ("Password", "Pg5ecret")),
    ("MYSQL_PWD='My5ql!' mysql -u app", ("Password", "My5ql!")),
    ("curl -u deploy:Pa55word https://ci.example.com/api", ("Password", "Pa55word")),
    ("keytool -importkeystore -srcstorepass Ch4ngeit -deststorepass K3ystore!", ("Password", "Ch4ngeit")),
    ("openssl pkcs12 -export -passout pass:Op3nSSL! -out a.p12", ("Password", "Op3nSSL!")),
    ("mongosh -u admin -p M0ngoPw! --authenticationDatabase admin", ("Password", "M0ngoPw!")),
    ("net user svc_sql Passw0rd! /add", ("Password", "Passw0rd!")),
    ("smbclient -U bob%Smb5ecret //fs01/share", ("Password", "Smb5ecret")),
    ("xfreerdp /u:admin /p:Rdp#2024 /v:10.0.0.8", ("Password", "Rdp#2024")),
    ("az login --service-principal -u app-id -p Az5ecret! --tenant acme", ("Password", "Az5ecret!")),
    ('sqlcmd -S db01 -U sa -P Sq1Pass! -Q "select 1"', ("Password", "Sq1Pass!")),
    ("7z a -pZ1pPass! backup.7z /srv/data", ("Password", "Z1pPass!")),
])
def test_credentials_in_prose_and_flags(text, expected):
    assert expected in found(text)


@pytest.mark.parametrize("text", [
    "password is incorrect", "The password was reset to default.", "password is required",
    "password is too short", "password is NOT set", "password has been changed to meet policy",
    "[sudo] password for alice: Sorry, try again.",
    "Failed password for invalid user admin from port 22 ssh2",
    "WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
    "psql --no-password --host db", "docker login --password-stdin --username bot",
    "openssl pkcs12 -passin env:P12_PASS -passout file:/run/pw", "--password $DB_PASSWORD --token ${TOKEN}",
    "the internet user agent Mozilla", "bypass --passive mode", "mysql -p orders",
    "sqlcmd -S db01 -E -Q 'select 1'", "7z x -y backup.7z", "7z a -p backup.7z",
])
def test_prose_and_flag_traps(text):
    assert [t for t, _ in found(text) if t in ("Password", "SecretAssignment", "ApiKey")] == []


@pytest.mark.parametrize("text, expected", [
    ("echo Hx7kq2zP9 | docker login -u bob --password-stdin registry.acme.io", "Hx7kq2zP9"),
    ('echo "Reg!stry26" | helm registry login ghcr.io -u bot --password-stdin', "Reg!stry26"),
    ("printf '%s\\n' Hx7kq2zP9 | podman login --password-stdin quay.io", "Hx7kq2zP9"),
    ("echo Sud0Pass | sudo -S apt-get update", "Sud0Pass"),
    ("echo -n N3wPass! | passwd --stdin deploy", "N3wPass!"),
    ("echo 'deploy:Chp4ss!' | chpasswd", "Chp4ss!"),
])
def test_a_password_piped_to_a_command_that_reads_it_from_stdin(text, expected):
    assert ("Password", expected) in found(text)


@pytest.mark.parametrize("text", [
    "echo $REG_PASS | docker login --password-stdin", 'echo "${TOKEN}" | docker login --password-stdin',
    "cat pw.txt | docker login --password-stdin", "echo hello; docker login --password-stdin",
    "echo apt-get update | sudo -s", "echo done | tee log | grep --stdin x",
    "sudo: bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls",
    "echo *** | docker login --password-stdin", "echo ok\ndocker login --password-stdin",
])
def test_a_pipe_into_no_password_reader_gives_nothing(text):
    assert [t for t, _ in found(text) if t == "Password"] == []


def test_an_option_belongs_to_the_program_named_nearest_before_it_on_its_line():
    far = "x" * 250  # further than a program's options are read
    text = (f"mysql -pN0tFar1 {far} -pTooFar1 then mysql -pAgain1\n"
            "next -pNewLine1 sshpass -p Spaced1 ; mysql -p Spaced2 ; mysql -pGlued2")
    values = [value for pii_type, value in found(text) if pii_type == "Password"]
    # "-p Spaced2": mysql takes its password glued only, whatever sshpass took before
    assert values == ["N0tFar1", "Again1", "Spaced1", "Glued2"]


def test_an_option_is_read_as_the_programs_named_on_its_line_would_read_it():
    text = ("mysql -p Spaced1 -p Spaced2 mysql -p Spaced3 -pGlued1\n"  # mysql takes only -pX
            "GET /login -p Spaced4 from curl/8.4.0\n"  # the words, not the programs
            "docker login -u deploy -p Spaced5 registry.example.com\n"  # a new line, a new program
            "mysql -p Spaced6 ; docker login -p Spaced7")
    values = [value for pii_type, value in found(text) if pii_type == "Password"]
    assert values == ["Glued1", "Spaced5", "Spaced7"]


@pytest.mark.parametrize("text, expected", [
    # a key whose value is the next key has none; the next key's value is found
    ("password: token: abc123xyz9876", [("SecretAssignment", "abc123xyz9876")]),
    ("pwd: ssn: 219-09-9999", [("Ssn", "219-09-9999")]),
    ("X-Api-Key: client_secret: Zq9kLm2pQ7wX4vB1", [("SecretAssignment", "Zq9kLm2pQ7wX4vB1")]),
    ("apiKey: accessToken: Zq9kLm2pQ7wX4vB1", [("SecretAssignment", "Zq9kLm2pQ7wX4vB1")]),
    ("token= token= Zq9kLm2pQ7wX4vB1", [("SecretAssignment", "Zq9kLm2pQ7wX4vB1")]),
    ("passwd: passwd: passwd:", []),
    # values that only end like a key are values
    ("password: VeryLongSecretNo: retry", [("Password", "VeryLongSecretNo")]),
    ("password: hunter2x: retry", [("Password", "hunter2x")]),
    ("token: QWxhZGRpbjpvcGVuIHNlc2FtZQno= sent", [("SecretAssignment", "QWxhZGRpbjpvcGVuIHNlc2FtZQno=")]),
    ("password= api_key= x", [("Password", "api_key=")]),
    ("password := token: Zq9kLm2pQ7wX4vB1", [("Password", "token")]),
    # a key name may start with a digit before a "_", "-" or "."; a word glued to a
    # digit is no key
    ("password: 2fa_token: Zq9kLm2pQ7wX4vB1", [("SecretAssignment", "Zq9kLm2pQ7wX4vB1")]),
    ("password: 4card: 12345", [("Password", "4card")]),
])
def test_a_value_that_is_the_next_key_is_no_value(text, expected):
    assert found(text) == expected


# the pattern "net use" had (every "/user:" tried up to 200 characters on)
_NET_USE_LAZY = re.compile(r"net(?<![a-z]net)[ \t]+use\b[^\n]{0,200}?[ \t]/user:[^\s]+[ \t]+(?P<v>[^\s/'\"]+)")


def test_net_use_passwords_are_those_of_the_first_user_option_in_reach():
    pieces = ["net use ", "net  use", "Net Use ", "/user:", " /user:", "\t/user:", " ", "\t", "\n", "a", "bob",
              "pw1", "/", "net", "use", "x" * 50, "x" * 120, "'", "CORP\\al", "Z:", "usex", "anet use "]
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        lower = text.lower()
        expected = [(*m.span("v"), "Password") for m in _NET_USE_LAZY.finditer(lower)
                    if not validators.is_placeholder(text[m.start("v"):m.end("v")])]
        got: list = []
        assignments._command_passwords(text, lower, got, finditer, *assignments._COMMANDS[0])
        assert got == expected, text

# freerdp's first "/p:" after the program's name, within 200 characters of its blank
_FREERDP_FIRST = re.compile(r"freerdp[ \t](?:[^\n]{0,200}?[ \t])??/p:" + assignments._ARG)


def test_freerdp_passwords_are_those_of_the_first_password_option_in_reach():
    pieces = ["xfreerdp ", "freerdp", " ", "\t", "\n", "/p:", " /p:", "/u:a", "'pw 1'", '"p2"', "Rdp#2024",
              "x" * 60, "x" * 150, "/v:h", "'", "freerdp /p:"]
    rng = random.Random(9)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 20)))
        lower = text.lower()
        expected = [(*m.span(m.lastgroup), "Password") for m in _FREERDP_FIRST.finditer(lower)
                    if not validators.is_placeholder(text[m.start(m.lastgroup):m.end(m.lastgroup)])]
        got: list = []
        assignments._command_passwords(text, lower, got, finditer, *assignments._COMMANDS[1])
        assert got == expected, text

# --- host names by the Public Suffix List ----------------------------------------------
@pytest.mark.parametrize("text, host", [
    ("resolve db01.prod.acme.us failed", "db01.prod.acme.us"),
    ("POST to api.payments.dev timed out", "api.payments.dev"),
    ("relay mail.firma.at refused", "mail.firma.at"),
    ("smtp.example.co.uk:25 greeted", "smtp.example.co.uk"),
    ("vpn.acme.com.au handshake", "vpn.acme.com.au"),
    ("backend web-01.shop.events down", "web-01.shop.events"),
    ("GET https://status.example.sh/health", "status.example.sh"),
    ("build.corp.intra and nas.home.arpa", "build.corp.intra"),
    ("nas.home.arpa answered", "nas.home.arpa"),
    ("printer.lan offline", "printer.lan"),
    ("dc01.ad.local unreachable", "dc01.ad.local"),
    ("files.corp is slow", "files.corp"),
    ("reached grafana.ops.cloud", "grafana.ops.cloud"),
])
def test_host_names_under_public_and_internal_suffixes(text, host):
    assert ("Hostname", host) in found(text)


@pytest.mark.parametrize("text", [
    # file names whose extension is also a top-level domain
    "app.log config.yaml main.go settings.py run.sh lib.rs README.md notes.zip clip.mov",
    "Foo.java app.properties multi-user.target libssl.so deploy.pl Main.kt index.js data.json",
    # Java, Kotlin and Python package, class and attribute paths
    "at com.acme.Foo.bar(Foo.java:12) org.apache.kafka.clients io.netty.channel com.acme.payments.events",
    "logger.info user.email request.user.email orders.public.events spring.mail.host sign.in self.app",
    # versions and OIDs
    "v1.2.3 hibernate 3.2.1.GA 5.4.2.Final 1.0.0.RELEASE jackson-2.15.2.jar OID 1.3.6.1.4.1.2021.10.1",
    # Kubernetes names
    "deployment.apps/api replicaset.apps/worker-5c8d7b9f4d kube-system pod/api-7d9f8b6c5-x2x9z",
    # public suffixes alone
    "suffix co.uk and com.au",
])
def test_host_name_traps(text):
    assert [h for t, h in found(text) if t == "Hostname"] == []


def test_message_id_is_not_an_address():
    assert [t for t, _ in found("Message-ID: <CAF1x2y3z4.abc@mail.gmail.com>")] == ["Hostname"]


def test_public_suffix_list_is_read_from_the_bundled_snapshot(monkeypatch, tmp_path):
    """Loading the list opens no connection and writes no cache."""
    import socket

    from tftsr.pii import validators

    def refuse(*args, **kwargs):
        raise AssertionError("the public suffix list must not be fetched")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    suffixes = validators.public_suffixes.__wrapped__()
    assert {"com", "co.uk", "us", "dev", "at", "events"} <= suffixes
    assert list(tmp_path.iterdir()) == []


# --- phone numbers and SSNs with a context word ------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("customer phone 415 555 0165 unreachable", ("PhoneNumber", "415 555 0165")),
    ("please call me at 4155550165 today", ("PhoneNumber", "4155550165")),
    ("Phone number: (415) 555 0165", ("PhoneNumber", "(415) 555 0165")),
    ("mobile +1 415 555 0165", ("PhoneNumber", "+1 415 555 0165")),
    ("tel 1-415-555-0165", ("PhoneNumber", "1-415-555-0165")),
    ("fax: 415.555.0165", ("PhoneNumber", "415.555.0165")),
    ("cell 14155550165", ("PhoneNumber", "14155550165")),
    ("ssn 219331065 rejected", ("Ssn", "219331065")),
    ("SSN: 219 33 1065", ("Ssn", "219 33 1065")),
    ("social security number 219-33-1065", ("Ssn", "219-33-1065")),
    ("Social Security no. 219331065", ("Ssn", "219331065")),
    ("phone:\t'4155550165'", ("PhoneNumber", "4155550165")),
    ("PHONE_NUMBER=\"4155550165\"", ("PhoneNumber", "4155550165")),
    ("ssn - # 219331065", ("Ssn", "219331065")),
])
def test_phone_and_ssn_with_context(text, expected):
    assert expected in found(text)


@pytest.mark.parametrize("text", [
    "order 4155550165 shipped", "request 415 555 0165 bytes", "id 219331065",
    "hotel 4155550165", "syscall 4155550165", "telemetry 4155550165",
    "call took 4155550165 ns", "the call id 4155550165", "cell 12 then 4155550165",
    "ssn 000331065 ssn 666331065 ssn 219001065", "phone 0155550165 phone 4151550165",
    "phone 1111111111", "ssn 219-33 1065", "phone 4155550165.5",
    "phone 12 4155550165", "ssn 1 219331065",
])
def test_phone_and_ssn_traps(text):
    assert [t for t, _ in found(text) if t in ("PhoneNumber", "Ssn")] == []
