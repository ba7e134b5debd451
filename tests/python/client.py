"""Cross-language check of the agora SiteService.

A client generated in Python from proto/agora/v1/*.proto talks to a site node started by hand
(see run.sh next to this file). The stubs are generated into a temporary directory at run time,
so nothing generated is committed.

    python3 client.py --addr 127.0.0.1:PORT --organiser-token T --desk-token T
"""

import argparse
import importlib
import pathlib
import sys
import tempfile
import uuid

import grpc
from grpc_tools import protoc

PROTO_DIR = (pathlib.Path(__file__).resolve().parent / ".." / ".." / "proto").resolve()


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def step(message):
    print(f"ok: {message}", flush=True)


def generate_stubs(out_dir):
    """Runs protoc on the agora protos and makes the generated modules importable."""
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.glob("agora/v1/*.proto"))
    check(protos, f"no .proto files under {PROTO_DIR}")
    args = ["protoc", f"-I{PROTO_DIR}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}"]
    if protoc.main(args + protos) != 0:
        raise CheckFailed("protoc failed to generate the Python stubs")
    sys.path.insert(0, str(out_dir))
    return (
        importlib.import_module("agora.v1.types_pb2"),
        importlib.import_module("agora.v1.site_pb2"),
        importlib.import_module("agora.v1.site_pb2_grpc"),
    )


def bearer(token):
    return (("authorization", f"Bearer {token}"),)


def rid():
    return str(uuid.uuid4())


def run(args, types, site, site_grpc):
    channel = grpc.insecure_channel(args.addr)
    grpc.channel_ready_future(channel).result(timeout=10)
    stub = site_grpc.SiteServiceStub(channel)
    organiser = bearer(args.organiser_token)
    desk = bearer(args.desk_token)

    info = stub.GetSiteInfo(site.GetSiteInfoRequest())
    check(info.site_id, "GetSiteInfo returned an empty site_id")
    step(f"GetSiteInfo: site {info.site_id!r} ({info.name!r}), server {info.server_version}, "
         f"last_seq {info.last_seq}")

    themes = stub.ListThemes(site.ListThemesRequest()).themes
    check(themes, "ListThemes returned no theme")
    step(f"ListThemes: {len(themes)} themes, first {themes[0].id!r}")

    fields = site.ChallengeFields(
        title="Comment loger tout le monde ?",
        themes=[themes[0].id],
        holders=[types.Holder(name="Camille Martin", role="Maire", collectivity="Cluny")],
        facilitators=["Alex Dupont"],
        capacity=1,
    )
    try:
        stub.CreateChallenge(
            site.CreateChallengeRequest(request_id=rid(), fields=site.ChallengeFields(
                themes=[themes[0].id], facilitators=["Alex Dupont"], capacity=1)),
            metadata=organiser)
        raise CheckFailed("CreateChallenge with an empty title was accepted")
    except grpc.RpcError as err:
        check(err.code() == grpc.StatusCode.INVALID_ARGUMENT,
              f"empty title: expected INVALID_ARGUMENT, got {err.code()}: {err.details()}")
        check("title" in (err.details() or ""),
              f"empty title: message does not mention 'title': {err.details()!r}")
    step("CreateChallenge with an empty title: INVALID_ARGUMENT mentioning 'title'")

    challenge = stub.CreateChallenge(
        site.CreateChallengeRequest(request_id=rid(), fields=fields), metadata=organiser).challenge
    check(challenge.number > 0, "CreateChallenge returned challenge number 0")
    check(challenge.capacity == 1, f"capacity is {challenge.capacity}, expected 1")
    step(f"CreateChallenge: défi {challenge.number}")

    people = []
    for name in ("Ada Lovelace", "Grace Hopper"):
        person = stub.CreateParticipant(site.CreateParticipantRequest(
            request_id=rid(), display_name=name, organisation="Mairie",
            organisation_type=types.ORGANISATION_TYPE_COLLECTIVITY), metadata=desk).participant
        check(person.id, f"CreateParticipant({name}) returned an empty id")
        people.append(person)
    step(f"CreateParticipant x2: {people[0].id}, {people[1].id}")

    def register(person):
        return stub.Register(site.RegisterRequest(
            request_id=rid(), participant_id=person.id, challenge_number=challenge.number),
            metadata=desk).registration

    first, second = register(people[0]), register(people[1])
    check(first.state == types.REGISTRATION_STATE_CONFIRMED,
          f"first registration is {types.RegistrationState.Name(first.state)}, expected CONFIRMED")
    check(second.state == types.REGISTRATION_STATE_WAITLISTED,
          f"second registration is {types.RegistrationState.Name(second.state)}, "
          "expected WAITLISTED")
    check(second.waitlist_position == 1,
          f"second waitlist_position is {second.waitlist_position}, expected 1")
    step(f"Register x2: first CONFIRMED ({first.ticket_code}), second WAITLISTED at position 1")

    checkin = stub.CheckIn(site.CheckInRequest(request_id=rid(), ticket_code=first.ticket_code),
                           metadata=desk)
    check(not checkin.already_checked_in, "first check-in reported already_checked_in")
    check(checkin.registration.checked_in_at_ms > 0, "check-in left checked_in_at_ms at 0")
    step(f"CheckIn: {checkin.participant_display_name} checked in")

    cancel = stub.CancelRegistration(
        site.CancelRegistrationRequest(request_id=rid(), registration_id=first.id), metadata=desk)
    check(cancel.registration.state == types.REGISTRATION_STATE_CANCELLED,
          "cancelled registration is not CANCELLED")
    promoted = {r.id: r for r in cancel.promoted}
    check(second.id in promoted, f"second registration not promoted: {list(promoted)}")
    check(promoted[second.id].state == types.REGISTRATION_STATE_CONFIRMED,
          "promoted registration is not CONFIRMED")
    step("CancelRegistration: first cancelled, second promoted")

    listing = stub.ListRegistrations(
        site.ListRegistrationsRequest(challenge_number=challenge.number), metadata=desk)
    confirmed = [e.registration.id for e in listing.confirmed]
    check(confirmed == [second.id], f"confirmed list is {confirmed}, expected [{second.id}]")
    check(not listing.waitlist, f"waitlist not empty: {len(listing.waitlist)} entries")
    check(listing.seats.confirmed == 1 and listing.seats.seats_left == 0,
          f"unexpected seat counts: {listing.seats}")
    step("ListRegistrations: second confirmed, waitlist empty")

    seqs = []
    stream = stub.WatchChanges(site.WatchChangesRequest(after_seq=0), metadata=organiser,
                               timeout=10)
    for item in stream:
        if item.WhichOneof("item") == "caught_up":
            caught_up = item.caught_up.seq
            break
        seqs.append(item.change.seq)
    else:
        raise CheckFailed("WatchChanges ended without a CaughtUp item")
    stream.cancel()
    check(seqs == list(range(1, len(seqs) + 1)), f"change seqs are not contiguous from 1: {seqs}")
    check(caught_up == len(seqs), f"CaughtUp at {caught_up} after {len(seqs)} changes")
    step(f"WatchChanges: {len(seqs)} changes, seqs 1..{len(seqs)}, caught up at {caught_up}")

    # Batched: the same changes, several to an answer (put together by the node from the
    # bytes of single answers, decoded here by another language's protobuf).
    batched, answers, most = [], 0, 0
    stream = stub.WatchChanges(site.WatchChangesRequest(after_seq=0, batched=True),
                               metadata=organiser, timeout=10)
    for item in stream:
        kind = item.WhichOneof("item")
        if kind == "caught_up":
            break
        got = list(item.changes.changes) if kind == "changes" else [item.change]
        answers += 1
        most = max(most, len(got))
        batched.extend(got)
    else:
        raise CheckFailed("batched WatchChanges ended without a CaughtUp item")
    stream.cancel()
    check([c.seq for c in batched] == seqs,
          f"batched seqs {[c.seq for c in batched]}, expected {seqs}")
    check(most > 1, f"no answer held several changes ({answers} answers)")
    plural = "" if answers == 1 else "s"
    step(f"WatchChanges batched: the same {len(batched)} changes in {answers} answer{plural}")
    channel.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", required=True, help="host:port of the site node")
    parser.add_argument("--organiser-token", required=True)
    parser.add_argument("--desk-token", required=True)
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="agora-pystubs-") as out_dir:
            stubs = generate_stubs(pathlib.Path(out_dir))
        run(args, *stubs)
    except CheckFailed as err:
        sys.exit(f"python client: FAILED: {err}")
    except grpc.RpcError as err:
        sys.exit(f"python client: FAILED: unexpected RPC error {err.code()}: {err.details()}")
    except grpc.FutureTimeoutError:
        sys.exit(f"python client: FAILED: could not connect to {args.addr}")
    print("python client: all checks passed")


if __name__ == "__main__":
    main()
