"""Pearl's command line (`flask --app app …`): create the database, import files, fetch
from PubMed, sync new papers from it, load the demo papers, the day's scheduled work."""

import datetime
import errno
import functools
import sys
from pathlib import Path

import click
import peewee
from flask import current_app
from flask.cli import with_appcontext

import accounts
import backup
import importer
import markup
import models
import pubmed
import retractions
from pubmed import eutils, mesh, updatefiles
from pubmed import sync as pubmed_sync

DEMO_FILE = Path(__file__).parent / "demo" / "medline16n0902.xml.gz"


def init_app(app):
    for command in (
        init_db, import_files, fetch, load_demo, create_user, rerender_notes, trial, publish_issues,
        import_mesh, import_retractions,
        rebuild_terms, sync, daily, back_up, restore,
    ):  # fmt: skip
        app.cli.add_command(_one_line_errors(command))


def _one_line_errors(command):
    """The command (and a group's subcommands) ending with one line that says what went wrong
    when the database or the disk refuses, instead of a traceback."""
    for subcommand in getattr(command, "commands", {}).values():
        _one_line_errors(subcommand)
    # Every create_app registers the same command objects again: wrap each callback once,
    # or a process making many apps (the test suite) stacks wrappers past the recursion limit.
    if command.callback is None or getattr(command.callback, "one_line_errors", False):
        return command
    callback = command.callback

    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except peewee.OperationalError as error:
            raise click.ClickException(models.database_problem(error)) from None
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            raise click.ClickException(models.database_problem("disk is full")) from None

    run.one_line_errors = True
    command.callback = run
    return command


@click.command("init-db")
@with_appcontext
def init_db():
    """Create the database, or bring it up to date."""
    ran = models.migrate()
    click.echo(f"Database ready ({len(ran)} migrations applied).")
    if models.search_index.rebuild_if_stale():  # an import was stopped before it rebuilt
        click.echo("Search index rebuilt.")


@click.command("import")
@with_appcontext
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--index",
    type=click.Choice(importer.INDEX_MODES),
    default="auto",
    show_default=True,
    help="Keep the search index in step batch by batch (as-you-go), or rebuild it in one "
    "pass after each file (rebuild: less work, but after the reading); auto rebuilds only "
    "after a large file read in one process (a single CPU).",
)
def import_files(files, index):
    """Import PubMed XML (.xml, .xml.gz), MEDLINE text (.nbib, .txt) or RIS files.

    Re-importing a record updates it; <DeleteCitation> removes records. A malformed file
    stops with its name and line: batches before the error stay, the failing one does not.
    Large files are read in a second process while this one stores.
    """
    models.migrate()
    failed = []
    total = importer.Summary()
    for name in files:
        summary = importer.Summary()
        try:
            _import_with_progress(name, summary, index)
        except IMPORT_ERRORS as error:
            failed.append(name)
            click.secho(f"Error: {_import_problem(name, error)}", fg="red", err=True)
            click.echo(f"{name}: stopped; {summary} before the error.", err=True)
        else:
            click.echo(f"{name}: {summary}")
        total.merge(summary)
    if len(files) > 1:
        click.echo(f"Total: {total}")
    if failed:
        raise SystemExit(1)


# What stops one file's import (the others still run): one line each, never a traceback.
IMPORT_ERRORS = (pubmed.MalformedFile, importer.ReaderError, OSError, peewee.OperationalError)


def _import_problem(name, error):
    """The line an import error prints: a malformed file names itself and its line; a full
    disk or a busy database says so; anything else is named with its file."""
    if isinstance(error, pubmed.MalformedFile):
        return str(error)
    if isinstance(error, peewee.OperationalError):
        return f"{name}: {models.database_problem(error)}"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"{name}: {models.database_problem('disk is full')}"
    return f"{name}: {error}"


def _import_with_progress(name, summary, index="auto"):
    """Import one file under a progress bar that follows the bytes read."""
    size = Path(name).stat().st_size
    with click.progressbar(length=size, label=Path(name).name, file=None) as bar:

        def advance(bytes_read):
            bar.update(bytes_read - bar.pos)

        importer.import_file(name, summary, on_read=advance, index=index)
        bar.update(size - bar.pos)


@click.command("import-mesh")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_mesh(file):
    """Store the MeSH tree from NLM's descriptor file (desc20XX.xml or .xml.gz, downloaded
    from https://www.nlm.nih.gov/databases/download/mesh.html): following a heading then
    follows the headings below it. A newer year's file replaces the tree; a malformed one
    stops with its name and line and leaves the stored tree as it was."""
    models.migrate()
    try:
        descriptors, numbers = models.MeshDescriptor.replace_tree(mesh.read_descriptors(file))
    except IMPORT_ERRORS as error:
        raise click.ClickException(_import_problem(file, error)) from None
    click.echo(f"Stored {descriptors} MeSH descriptors, {numbers} tree numbers from {file}.")


@click.command("import-retractions")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_retractions(file):
    """Store the retractions, expressions of concern and corrections of the Retraction Watch
    CSV (Crossref's retraction_watch.csv), matched to papers by PMID and by DOI. Re-running
    updates each record, never duplicates; a malformed file stops with its name and line and
    stores nothing."""
    models.migrate()
    try:
        summary = retractions.import_csv(file)
    except IMPORT_ERRORS as error:
        raise click.ClickException(_import_problem(file, error)) from None
    click.echo(f"{file}: {summary}.")


@click.command("fetch")
@with_appcontext
@click.argument("pmids", nargs=-1, required=True)
def fetch(pmids):
    """Fetch PubMed records by PMID from NCBI's E-utilities and import them (needs the network).

    Set NCBI_API_KEY for 10 requests a second instead of 3.
    """
    models.migrate()
    client = _eutils_client()
    try:
        result = client.fetch(pmids)
        with click.progressbar(length=len(result.requested), label="Fetching") as bar:
            summary = importer.import_records(result, on_batch=bar.update)
    except (eutils.EutilsError, pubmed.MalformedFile) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"PubMed: {summary}")
    if result.missing:
        missing = " ".join(map(str, result.missing))
        click.secho(f"Not found in PubMed: {missing}", fg="yellow", err=True)
        raise SystemExit(1)


def _eutils_client():
    """The E-utilities client as configured (EUTILS_BASE_URL, NCBI_API_KEY, NCBI_EMAIL)."""
    config = current_app.config
    return eutils.EutilsClient(
        base_url=config.get("EUTILS_BASE_URL") or eutils.DEFAULT_BASE,
        api_key=config.get("NCBI_API_KEY"),
        email=config.get("NCBI_EMAIL"),
    )


SYNC_SOURCES = (models.SyncRun.INTERESTS, models.SyncRun.UPDATEFILES)
# What stops a sync: one line each (the run row keeps it too), never a traceback.
SYNC_ERRORS = (*pubmed_sync.ERRORS, *IMPORT_ERRORS)


@click.command("sync")
@with_appcontext
@click.option("--status", is_flag=True, help="Print the last runs instead of running one.")
def sync(status):
    """Bring new papers from PubMed. SYNC_SOURCE=interests (the default) searches for what
    the readers follow, entered since the last successful run (SYNC_WINDOW_DAYS, 30, the
    first time); SYNC_SOURCE=updatefiles applies NCBI's update files (UPDATEFILES_URL) not
    yet applied, each checked against its .md5. With RETRACTIONS_URL, Retraction Watch's CSV
    is fetched and imported after. Safe to run again after any failure."""
    models.migrate()
    if status:
        _print_status()
        return
    source = (current_app.config.get("SYNC_SOURCE") or models.SyncRun.INTERESTS).strip().lower()
    if source not in SYNC_SOURCES:
        raise click.ClickException(
            f"SYNC_SOURCE is {source!r}: it must be one of {', '.join(SYNC_SOURCES)}"
        )
    try:
        if source == models.SyncRun.INTERESTS:
            _sync_interests()
        else:
            _sync_updatefiles()
        if current_app.config.get("RETRACTIONS_URL"):
            _sync_retractions(current_app.config["RETRACTIONS_URL"])
    except SYNC_ERRORS as error:
        raise click.ClickException(f"sync: {pubmed_sync.describe(error)}") from None


def _sync_retractions(url):
    """Retraction Watch's CSV from RETRACTIONS_URL (Crossref publishes it daily), imported as
    `import-retractions` would: the retractions PubMed has not flagged yet."""
    base, _, name = url.rpartition("/")
    folder = Path(current_app.instance_path) / "retractions"
    path = updatefiles.Downloader(base + "/").fetch(name, folder)
    summary = retractions.import_csv(path, name=url)
    click.echo(f"Retraction Watch: {summary}.")


def _sync_interests():
    days = current_app.config.get("SYNC_WINDOW_DAYS") or pubmed_sync.DEFAULT_WINDOW_DAYS
    try:
        days = int(days)
    except ValueError:
        raise click.ClickException(f"SYNC_WINDOW_DAYS is {days!r}: a number of days") from None

    def searched(start, end, found):
        split = " (over 10,000: split)" if found.count > eutils.SEARCH_LIMIT else ""
        click.echo(f"  {start:%Y/%m/%d}–{end:%Y/%m/%d}: {found.count:,} found{split}")

    run, followed = pubmed_sync.sync_interests(_eutils_client(), days=days, on_search=searched)
    if followed.skipped_filters:
        click.echo(
            f"Left out {followed.skipped_filters} clinical filter interest(s): a filter narrows "
            "the papers already here and names no topic to bring from PubMed."
        )
    if run is None:
        click.echo("Nobody follows anything yet: nothing to search for.")
        return
    click.echo(f"PubMed {run.window_start}–{run.window_end}, {len(followed.terms)} interests: "
               f"{run.added} added, {run.updated} updated, {run.deleted} deleted.")  # fmt: skip


def _sync_updatefiles():
    config = current_app.config
    downloader = updatefiles.Downloader(config.get("UPDATEFILES_URL") or updatefiles.DEFAULT_URL)
    folder = Path(current_app.instance_path) / "updatefiles"
    runs = pubmed_sync.sync_updatefiles(
        downloader, folder, first=config.get("UPDATEFILES_FIRST") or None,
        on_file=lambda name: click.echo(f"  {name}…"),
    )  # fmt: skip
    for run in runs:
        click.echo(f"{run.file}: {run.added} added, {run.updated} updated, "
                   f"{run.deleted} deleted.")  # fmt: skip
    if not runs:
        click.echo("Update files: none new.")


def _print_status(count=10):
    """The last runs as a small table, newest first."""
    runs = list(models.SyncRun.latest(count))
    if not runs:
        click.echo("No sync has run yet.")
        return
    rows = [("started (UTC)", "source", "window or file", "added", "updated", "deleted",
             "took", "outcome")]  # fmt: skip
    for run in runs:
        what = run.file or f"{run.window_start}–{run.window_end}"
        took = f"{run.seconds:.1f} s" if run.seconds is not None else "–"
        outcome = "ok" if run.succeeded else run.error or "interrupted (or running)"
        rows.append((f"{run.started_at:%Y-%m-%d %H:%M}", run.source, what, f"{run.added:,}",
                     f"{run.updated:,}", f"{run.deleted:,}", took, outcome))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.rjust(w) if 3 <= i <= 6 else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=False))]  # fmt: skip
        click.echo("  ".join([*cells, row[-1]]).rstrip())


@click.command("daily")
@with_appcontext
@click.option("--url", default="http://localhost:5000", show_default=True,
              help="Pearl's public address, for the links in emailed issues.")  # fmt: skip
@click.pass_context
def daily(context, url):
    """The day's work, in order: sync new papers from PubMed, then publish the issues that
    are due. When the sync fails the issues still go out (with the papers already here),
    and the command then fails with the sync's line."""
    failed = None
    try:
        context.invoke(sync, status=False)
    except click.ClickException as error:
        failed = error
        click.secho(f"Error: {error.format_message()}", fg="red", err=True)
    context.invoke(publish_issues, url=url)
    if failed:
        raise SystemExit(1)


@click.command("backup")
@with_appcontext
@click.argument("destination", type=click.Path(dir_okay=False))
def back_up(destination):
    """Copy the database, while Pearl runs, to the new file DESTINATION: SQLite's online
    backup (a plain `cp` of a live database misses the newest notes), `pg_dump` on
    PostgreSQL."""
    try:
        backup.back_up(destination)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backed up to {destination} ({Path(destination).stat().st_size:,} bytes).")


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
def restore(source, yes):
    """Replace everything in the database with the backup SOURCE made by `backup`."""
    if not yes:
        click.confirm("Replace every paper, note and account with the backup's?", abort=True)
    try:
        backup.restore(source)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    models.migrate()  # a backup from an older Pearl catches up with this one's schema
    click.echo(f"Restored from {source}.")


@click.command("load-demo")
@with_appcontext
def load_demo():
    """Import the demo papers (604 real MEDLINE records) when the database has none."""
    models.migrate()
    if models.article_count():
        click.echo("The database already has papers; the demo was not loaded again.")
        return
    summary = importer.Summary()
    _import_with_progress(str(DEMO_FILE), summary)
    click.echo(f"Demo papers: {summary}")


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--name", help="Display name shown with shared notes (default: the email's name).")
def create_user(email, name):
    """Create an account. Asks for the password twice (hidden); reads one line from standard
    input when it is piped: `echo "$PASSWORD" | flask --app app create-user a@b.org`."""
    models.migrate()
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = accounts.create_account(email, name or email.split("@")[0], password)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {user.email} ({user.display_name}).")


@click.command("rerender-notes")
@with_appcontext
def rerender_notes():
    """Rebuild every note's HTML from its source (after the note format changes)."""
    models.migrate()
    changed = 0
    query = models.Note.select(models.Note.id, models.Note.source, models.Note.html)
    with models.db.atomic():
        for note in query.iterator():
            html = markup.render(note.source, prefix=f"n{note.id}")
            if html != note.html:
                models.Note.update(html=html).where(models.Note.id == note.id).execute()
                changed += 1
    click.echo(f"Notes re-rendered: {changed} changed.")


@click.command("publish-issues")
@with_appcontext
@click.option(
    "--url",
    default="http://localhost:5000",
    show_default=True,
    help="Pearl's public address, for the links in emailed issues.",
)
def publish_issues(url):
    """Put together every reader's issue of the Medical Journal of You that is due, and email
    it to those who asked. Run it as often as you like (cron, a systemd timer): a reader gets
    one issue per period, however many times it runs."""
    from views import journal  # noqa: PLC0415 - the web side renders and sends the emails

    models.migrate()
    with current_app.test_request_context(base_url=url):
        counts = journal.publish_all()
    issues, readers = counts["issues"], counts["readers"]
    click.echo(
        f"Journal: {issues} new issue{'s' * (issues != 1)} for {readers} "
        f"reader{'s' * (readers != 1)}; {counts['emailed']} emailed."
    )


@click.command("rebuild-terms")
@with_appcontext
def rebuild_terms():
    """Count the interests picker's terms and the library's papers again from the stored
    papers: a repair (every import and deletion keeps them current)."""
    models.migrate()
    with models.db.atomic():
        models.LibraryStats.recount()
        models.Term.rebuild()
    terms = models.Term.select().count()
    click.echo(f"Terms: {terms} counted over {models.LibraryStats.paper_count()} papers.")


@click.group("trial")
def trial():
    """Look at, extend or end a reader's trial, or grant full access."""


def _reader(email):
    models.migrate()
    user = models.User.by_email(email)
    if user is None:
        raise click.ClickException(f"No account has the address {email}.")
    return user


def _describe(user):
    if user.full_access:
        return f"{user.email}: full access"
    days = user.trial_days_left()
    if days is None:
        return f"{user.email}: no trial started"
    ends = user.trial_ends_at.strftime("%d %b %Y %H:%M UTC")
    return (
        f"{user.email}: {days} days left (ends {ends})" if days else f"{user.email}: ended {ends}"
    )


def _save(user):
    with models.db.atomic():
        user.save()
    click.echo(_describe(user))


@trial.command("show")
@with_appcontext
@click.argument("email")
def trial_show(email):
    """Say where a reader's trial stands."""
    click.echo(_describe(_reader(email)))


@trial.command("extend")
@with_appcontext
@click.argument("email")
@click.option("--days", type=click.IntRange(1, 3650), default=7, show_default=True)
def trial_extend(email, days):
    """Give a reader more days (from now, if their trial has already ended)."""
    user = _reader(email)
    start = max(user.trial_ends_at or models.utcnow(), models.utcnow())
    user.trial_ends_at = start + datetime.timedelta(days=days)
    _save(user)


@trial.command("end")
@with_appcontext
@click.argument("email")
def trial_end(email):
    """End a reader's trial now (and take away full access)."""
    user = _reader(email)
    user.trial_ends_at, user.full_access = models.utcnow(), False
    _save(user)


@trial.command("grant")
@with_appcontext
@click.argument("email")
def trial_grant(email):
    """Give a reader full access to the journal, with no end date."""
    user = _reader(email)
    user.full_access = True
    _save(user)
