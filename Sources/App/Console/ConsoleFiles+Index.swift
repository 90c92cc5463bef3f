extension ConsoleFiles {
    /// The page itself: the shell the modules fill.
    static let index = ConsoleAsset(name: "index.html", contentType: "text/html; charset=utf-8", text: #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Troupe console</title>
<link rel="stylesheet" href="/console/style.css">
<script type="module" src="/console/app.js"></script>
</head>
<body>
<header id="bar"></header>
<main id="view"><p class="muted">Loading…</p></main>
</body>
</html>
"""#)
}
