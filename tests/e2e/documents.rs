use keiyaku_core::store::keys;
use std::collections::HashSet;

use keiyaku_pdf::sample;
use keiyaku_tests::{TestApp, error_code};
use serde_json::{Value, json};

#[tokio::test]
async fn upload_list_and_download_byte_for_byte() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let pdf = sample::pdf_of_size(300_000, 7);
    let r = user
        .upload(
            "業務委託契約書.pdf",
            pdf.clone(),
            "業務委託契約書（2026年度）",
        )
        .await;
    assert_eq!(r.status(), 201);
    let doc: Value = r.json().await.unwrap();
    let id = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(doc["status"], "draft");
    assert_eq!(doc["filename"], "業務委託契約書.pdf");
    assert_eq!(doc["title"], "業務委託契約書（2026年度）");
    assert_eq!(doc["size"], pdf.len());
    assert!(doc["pages"].as_u64().unwrap() >= 1);
    assert_eq!(doc["history"][0]["action"], "document.created");
    let me: Value = user.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(doc["owner_id"], me["id"]);
    assert_eq!(doc["team_id"], me["team_id"]);
    assert_eq!(doc["history"][0]["ip"], "127.0.0.1");
    let sha: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&pdf)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(doc["sha256"], sha);

    let list: Value = user.get("/api/v1/documents").await.json().await.unwrap();
    assert_eq!(list["documents"][0]["id"], id.as_str());
    assert!(list.get("next_cursor").is_none());

    let r = user.get(&format!("/api/v1/documents/{id}/file")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cd.starts_with("inline;"), "{cd}");
    assert!(cd.contains("filename*=UTF-8''%E6%A5%AD"), "{cd}");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'self'")
    );
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf, "byte-for-byte");
    let r = user
        .get(&format!("/api/v1/documents/{id}/file?download=1"))
        .await;
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_file_on_disk_is_encrypted_and_tampering_is_caught() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let pdf = sample::pdf_of_size(400_000, 1);
    let first: Value = user
        .upload("a.pdf", pdf.clone(), "A")
        .await
        .json()
        .await
        .unwrap();
    let other_pdf = sample::pdf_with_pages(3);
    let second: Value = user
        .upload_direct("b.pdf", other_pdf.clone())
        .await
        .json()
        .await
        .unwrap();
    let blobs = app.blob_files();
    assert_eq!(
        blobs.len(),
        2,
        "one blob per document, no staging leftovers: {blobs:?}"
    );
    let find = |id: &str| {
        blobs
            .iter()
            .find(|p| p.to_string_lossy().contains(id))
            .unwrap()
            .clone()
    };
    let (a, b) = (
        find(first["id"].as_str().unwrap()),
        find(second["id"].as_str().unwrap()),
    );

    let stored = std::fs::read(&a).unwrap();
    let windows: HashSet<&[u8]> = stored.windows(64).collect();
    assert!(
        !pdf.windows(64).any(|w| windows.contains(w)),
        "no 64-byte run of the original is on disk"
    );
    // Nor anywhere else in the data dir (the database, the staging area, the mail).
    for f in walk_all(&app.data_dir()) {
        let bytes = std::fs::read(&f).unwrap();
        let set: HashSet<&[u8]> = bytes.windows(64).collect();
        assert!(
            !pdf.windows(64).step_by(997).any(|w| set.contains(w)),
            "{f:?} holds plaintext"
        );
    }

    let url = |v: &Value| format!("/api/v1/documents/{}/file", v["id"].as_str().unwrap());
    // A flipped byte in a later segment: the download stops before that segment.
    let mut flipped = stored.clone();
    let at = stored.len() - 100_000;
    flipped[at] ^= 0x01;
    std::fs::write(&a, &flipped).unwrap();
    // The server may abort before its buffered headers are flushed, so the error can come
    // at the status line or in the body; either way no byte of the altered segment is sent.
    let mut received = 0usize;
    let mut failed = false;
    match user
        .request(reqwest::Method::GET, &url(&first))
        .send()
        .await
    {
        Err(_) => failed = true,
        Ok(mut body) => {
            assert_eq!(body.status(), 200, "the first segments are fine");
            loop {
                match body.chunk().await {
                    Ok(Some(c)) => received += c.len(),
                    Ok(None) => break,
                    Err(_) => {
                        failed = true;
                        break;
                    }
                }
            }
        }
    }
    assert!(
        failed,
        "the download ends with an error, not a short success"
    );
    let segment_of_flip =
        (at - (stored.len() - pdf.len() - pdf.len().div_ceil(65536) * 16)) / (65536 + 16);
    assert!(
        received <= segment_of_flip * 65536,
        "no byte of the altered segment was sent"
    );

    // A flipped byte in the first segment: an integrity error before anything is sent.
    let mut early = stored.clone();
    early[200] ^= 0x80;
    std::fs::write(&a, &early).unwrap();
    let r = user.get(&url(&first)).await;
    assert_eq!(r.status(), 500);
    assert_eq!(error_code(r).await, "integrity_error");

    // Swapping two documents' blobs is caught: each is bound to its document.
    std::fs::write(&a, std::fs::read(&b).unwrap()).unwrap();
    std::fs::write(&b, &stored).unwrap();
    for doc in [&first, &second] {
        let r = user.get(&url(doc)).await;
        assert_eq!(error_code(r).await, "integrity_error");
    }
    std::fs::write(&b, std::fs::read(&a).unwrap()).unwrap();
    assert_eq!(
        user.get(&url(&second))
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        other_pdf
    );
    app.stop().await;
}

fn walk_all(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_all(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn another_user_sees_nothing() {
    let app = TestApp::spawn().await;
    let owner = app.user("hanako@example.jp", "山田 花子").await;
    let stranger = app.user("taro@example.jp", "鈴木 太郎").await;
    let doc: Value = owner
        .upload_direct("a.pdf", sample::pdf_with_pages(1))
        .await
        .json()
        .await
        .unwrap();
    let id = doc["id"].as_str().unwrap();
    for path in [
        format!("/api/v1/documents/{id}"),
        format!("/api/v1/documents/{id}/file"),
    ] {
        let r = stranger.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    assert_eq!(
        stranger
            .delete(&format!("/api/v1/documents/{id}"))
            .await
            .status(),
        404
    );
    let list: Value = stranger
        .get("/api/v1/documents")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["documents"].as_array().unwrap().len(), 0);
    assert_eq!(
        owner.get(&format!("/api/v1/documents/{id}")).await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn one_call_upload_is_idempotent_and_names_are_sanitised() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let pdf = sample::pdf_with_pages(2);
    let send = |key: &'static str, body: Vec<u8>| {
        user.request(reqwest::Method::POST, "/api/v1/documents")
            .query(&[("filename", "../../etc/passwd"), ("title", "秘密保持契約")])
            .header("content-type", "application/pdf")
            .header("idempotency-key", key)
            .body(body)
            .send()
    };
    for bad in ["key 1", &"k".repeat(256)] {
        let r = user
            .request(reqwest::Method::POST, "/api/v1/documents")
            .query(&[("filename", "a.pdf")])
            .header("content-type", "application/pdf")
            .header("idempotency-key", bad)
            .body(pdf.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert_eq!(error_code(r).await, "invalid_idempotency_key");
    }
    let r1 = send("key-1", pdf.clone()).await.unwrap();
    assert_eq!(r1.status(), 201);
    assert!(r1.headers().get("idempotent-replayed").is_none());
    let d1: Value = r1.json().await.unwrap();
    assert_eq!(d1["filename"], "passwd.pdf");
    let r2 = send("key-1", pdf.clone()).await.unwrap();
    assert_eq!(r2.status(), 201);
    assert_eq!(r2.headers()["idempotent-replayed"], "true");
    let d2: Value = r2.json().await.unwrap();
    assert_eq!(d1["id"], d2["id"]);
    assert_eq!(
        app.count_items(keys::DOC),
        1,
        "a retry makes no second document"
    );
    let r3 = send("key-1", sample::pdf_with_pages(3)).await.unwrap();
    assert_eq!(r3.status(), 409);
    assert_eq!(error_code(r3).await, "idempotency_key_reused");

    let r = user
        .request(reqwest::Method::POST, "/api/v1/documents")
        .query(&[("filename", "a\u{1}b\r\nc.pdf")])
        .header("content-type", "application/pdf")
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["filename"], "abc.pdf");
    assert_eq!(d["title"], "abc");

    // Through an upload slot, a retried create answers with the same document.
    let slot: Value = user
        .post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "slot.pdf", "size": pdf.len() }),
        )
        .await
        .json()
        .await
        .unwrap();
    let put = user
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/uploads/{}", slot["upload_id"].as_str().unwrap()),
        )
        .body(pdf.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let create = || {
        user.request(reqwest::Method::POST, "/api/v1/documents")
            .header("idempotency-key", "slot-key")
            .json(&json!({ "upload_id": slot["upload_id"], "title": "T" }))
            .send()
    };
    let a: Value = create().await.unwrap().json().await.unwrap();
    let b = create().await.unwrap();
    assert_eq!(b.status(), 201);
    let b: Value = b.json().await.unwrap();
    assert_eq!(a["id"], b["id"]);
    app.stop().await;
}

#[tokio::test]
async fn listing_pages_filters_and_binds_the_cursor_to_its_caller() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let other = app.user("taro@example.jp", "鈴木 太郎").await;
    let titles = [
        "売買契約書",
        "ＮＤＡ 秘密保持",
        "雇用契約",
        "nda addendum",
        "賃貸借契約",
    ];
    for t in titles {
        let r = user
            .request(reqwest::Method::POST, "/api/v1/documents")
            .query(&[("title", t), ("filename", "x.pdf")])
            .header("content-type", "application/pdf")
            .body(sample::pdf_with_pages(1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/documents?limit=2".to_owned();
    let mut first_cursor = None;
    loop {
        let page: Value = user.get(&path).await.json().await.unwrap();
        let docs = page["documents"].as_array().unwrap();
        assert!(docs.len() <= 2);
        seen.extend(docs.iter().map(|d| d["title"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => {
                first_cursor.get_or_insert(c.to_owned());
                path = format!("/api/v1/documents?limit=2&cursor={c}");
            }
            None => break,
        }
    }
    let newest_first: Vec<String> = titles.iter().rev().map(|s| s.to_string()).collect();
    assert_eq!(seen, newest_first);
    let r = other
        .get(&format!(
            "/api/v1/documents?cursor={}",
            first_cursor.unwrap()
        ))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "invalid_cursor");
    let found: Value = user
        .get("/api/v1/documents?q=nda")
        .await
        .json()
        .await
        .unwrap();
    let found: Vec<&str> = found["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        vec!["nda addendum", "ＮＤＡ 秘密保持"],
        "full-width and case folded"
    );
    let drafts: Value = user
        .get("/api/v1/documents?status=draft")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(drafts["documents"].as_array().unwrap().len(), 5);
    let done: Value = user
        .get("/api/v1/documents?status=completed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["documents"].as_array().unwrap().len(), 0);
    assert_eq!(
        error_code(user.get("/api/v1/documents?status=bogus").await).await,
        "invalid_query"
    );
    assert_eq!(
        error_code(user.get("/api/v1/documents?limit=0").await).await,
        "invalid_limit"
    );
    app.stop().await;
}

/// The titles `q` finds for `client`, following every cursor (`limit` per page).
async fn search(client: &keiyaku_tests::Client, q: &str, limit: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("q", q.to_owned()), ("limit", limit.to_string())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let r = client
            .request(reqwest::Method::GET, "/api/v1/documents")
            .query(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        found.extend(
            page["documents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["title"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return found,
        }
    }
}

/// Posting items of the title index for a document.
fn postings(app: &TestApp, id: &str) -> i64 {
    app.count_rows("pk LIKE 'TITLE#%' AND sk = ?1", id)
}

#[tokio::test]
async fn title_search_finds_substrings_through_the_index_and_follows_edits() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let other = app.user("taro@example.jp", "鈴木 太郎").await;
    let mut ids = Vec::new();
    for t in [
        "業務委託基本契約書",
        "売買契約書",
        "秘密保持契約（ＮＤＡ）",
        "契",
        "契約書 第2版",
    ] {
        let r = user
            .request(reqwest::Method::POST, "/api/v1/documents")
            .query(&[("title", t), ("filename", "x.pdf")])
            .header("content-type", "application/pdf")
            .body(sample::pdf_with_pages(1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let d: Value = r.json().await.unwrap();
        ids.push(d["id"].as_str().unwrap().to_owned());
    }
    let r = other
        .request(reqwest::Method::POST, "/api/v1/documents")
        .query(&[("title", "他社の契約書"), ("filename", "x.pdf")])
        .header("content-type", "application/pdf")
        .body(sample::pdf_with_pages(1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // Newest first, every page once, nobody else's.
    assert_eq!(
        search(&user, "契約", 2).await,
        [
            "契約書 第2版",
            "秘密保持契約（ＮＤＡ）",
            "売買契約書",
            "業務委託基本契約書"
        ]
    );
    assert_eq!(search(&user, "基本契約", 50).await, ["業務委託基本契約書"]);
    assert_eq!(search(&user, "書 第2", 50).await, ["契約書 第2版"]);
    assert_eq!(search(&user, "nda", 50).await, ["秘密保持契約（ＮＤＡ）"]);
    assert_eq!(search(&user, "契", 50).await.len(), 5, "one character");
    // Grams in the title but not as a substring: not found.
    assert!(search(&user, "約書契", 50).await.is_empty());
    assert_eq!(search(&other, "契約", 50).await, ["他社の契約書"]);

    // A retitled draft is found by its new title only; a deleted one is gone, with its
    // postings.
    let r = user
        .patch_json(
            &format!("/api/v1/documents/{}", ids[1]),
            json!({ "title": "賃貸借契約書" }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(search(&user, "売買", 50).await.is_empty());
    assert_eq!(search(&user, "賃貸", 50).await, ["賃貸借契約書"]);
    assert!(postings(&app, &ids[0]) > 0);
    let r = user.delete(&format!("/api/v1/documents/{}", ids[0])).await;
    assert_eq!(r.status(), 204);
    assert_eq!(postings(&app, &ids[0]), 0);
    assert!(search(&user, "委託", 50).await.is_empty());

    // Documents from before the index: found once the team's titles are indexed on its
    // first search.
    {
        let db = rusqlite::Connection::open(app.data_dir().join("keiyaku.db")).unwrap();
        db.execute(
            "DELETE FROM items WHERE pk LIKE 'TITLE#%' OR sk = 'TITLEINDEX'",
            [],
        )
        .unwrap();
    }
    assert_eq!(postings(&app, &ids[4]), 0);
    assert_eq!(
        search(&user, "契約", 50).await,
        ["契約書 第2版", "秘密保持契約（ＮＤＡ）", "賃貸借契約書"]
    );
    assert!(postings(&app, &ids[4]) > 0);
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_draft_removes_its_file() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let doc: Value = user
        .upload_direct("a.pdf", sample::pdf_with_pages(1))
        .await
        .json()
        .await
        .unwrap();
    let id = doc["id"].as_str().unwrap();
    assert_eq!(app.blob_files().len(), 1);
    assert_eq!(
        user.delete(&format!("/api/v1/documents/{id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        user.get(&format!("/api/v1/documents/{id}")).await.status(),
        404
    );
    assert_eq!(
        user.delete(&format!("/api/v1/documents/{id}"))
            .await
            .status(),
        404
    );
    assert!(app.blob_files().is_empty());
    assert_eq!(app.count_items(keys::DOC), 0);
    app.stop().await;
}

#[tokio::test]
async fn sizes_and_slots_are_enforced_and_refusals_keep_nothing() {
    let app = TestApp::spawn().await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let slot = |size: u64| {
        user.post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "a.pdf", "size": size }),
        )
    };
    let r = slot(0).await;
    assert_eq!(error_code(r).await, "empty_file");
    // A declared size over the limit breaks a rule the schema states: 400, naming the field.
    let r = slot(21 * 1024 * 1024).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_large");
    assert_eq!(body["error"]["field"], "size");
    let r = user.upload_direct("a.pdf", Vec::new()).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "empty_file");
    let r = user
        .upload_direct("a.pdf", vec![b'%'; 4 * 1024 * 1024 + 1])
        .await;
    assert_eq!(r.status(), 413, "the one-call upload takes at most 4 MB");

    // More bytes than declared: refused, and the slot keeps nothing.
    let s: Value = slot(1000).await.json().await.unwrap();
    let put = |body: Vec<u8>| {
        user.request(
            reqwest::Method::PUT,
            &format!("/api/v1/uploads/{}", s["upload_id"].as_str().unwrap()),
        )
        .body(body)
        .send()
    };
    assert_eq!(put(vec![0u8; 5000]).await.unwrap().status(), 413);
    assert_eq!(
        error_code(put(vec![0u8; 10]).await.unwrap()).await,
        "size_mismatch"
    );
    assert!(app.blob_files().is_empty(), "{:?}", app.blob_files());

    // A non-PDF sent through a slot is refused at create, and the slot is gone.
    let pdf_like = b"This is not a PDF at all".to_vec();
    let r = user.upload("a.pdf", pdf_like, "x").await;
    assert_eq!(r.status(), 422);
    assert_eq!(error_code(r).await, "not_a_pdf");
    assert_eq!(
        app.count_items(keys::UPLOAD),
        1,
        "only the first, unfilled slot remains"
    );
    assert!(app.blob_files().is_empty());
    assert_eq!(app.count_items(keys::DOC), 0);

    let r = user
        .post_json(
            "/api/v1/documents",
            json!({ "upload_id": "nope", "title": "x" }),
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = user
        .request(reqwest::Method::POST, "/api/v1/documents")
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    app.stop().await;
}

#[tokio::test]
async fn a_smaller_configured_limit_is_enforced() {
    let app = TestApp::spawn_with(1).await;
    let user = app.user("hanako@example.jp", "山田 花子").await;
    let r = user
        .post_json(
            "/api/v1/documents/uploads",
            json!({ "filename": "a.pdf", "size": 2 * 1024 * 1024 }),
        )
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_code(r).await, "too_large");
    let r = user
        .upload_direct("big.pdf", sample::pdf_of_size(1_500_000, 3))
        .await;
    assert_eq!(r.status(), 413);
    app.stop().await;
}
