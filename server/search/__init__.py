"""Text search across a workspace's files, as an editor's search panel does it:
`service.py` (the search and `search_workspace`), `patterns.py` (what is read from a
regular expression before running it), `commands.py` (`search.workspace`), `rest.py`;
`feature.py` plugs them into the server."""

from server.search.service import SearchArgs, SearchResult, TextMatch, search_files

__all__ = ["SearchArgs", "SearchResult", "TextMatch", "search_files"]
