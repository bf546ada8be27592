# The README and docs/ cite only files and folders that exist: every `path/like/this` in
# backquotes whose first component is a folder of the repository must be there (a component named
# without its extension, `oserv/ObjectAdapter`, by its .h or .cc).
cd "$(dirname "$0")/.." || exit 1
status=0
tops=$(git ls-tree -d --name-only HEAD 2>/dev/null || find . -mindepth 1 -maxdepth 1 -type d -printf '%f\n')
for doc in README.md docs/*.md; do
  grep -o '`[A-Za-z0-9_./@-]*/[A-Za-z0-9_.@-]*`' "$doc" | tr -d '`' | sort -u | while read -r path; do
    first=${path%%/*}
    echo "$tops" | grep -qxF "$first" || continue   # not a repository path (/etc/..., ../shared)
    [ -e "$path" ] || [ -e "$path.h" ] || [ -e "$path.cc" ] ||
      { echo "$doc cites $path, which does not exist"; exit 1; }
  done || status=1
done
exit $status
