use chrono::Utc;
use provenance_core::{AnalysisError, AnalysisStatus, RepoName};
use provenance_store::page::encode_cursor;
use provenance_store::{AnalysisFilter, PageRequest};

use crate::support::*;

both_backends!(
    lines_are_paged_in_submission_order_with_cursors,
    a_page_that_ends_exactly_at_the_last_line_has_no_cursor,
    a_cursor_the_store_never_issued_reads_as_an_empty_page,
    analyses_are_listed_newest_first_across_pages,
    analyses_are_filtered_by_repo_pull_request_and_status,
    analyses_are_counted_by_status_across_tenants,
);

fn next(page: &provenance_store::Page<impl Sized>, limit: u32) -> PageRequest {
    PageRequest::from_query(Some(limit), page.next_cursor.as_deref()).unwrap()
}

async fn lines_are_paged_in_submission_order_with_cursors(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 5);
    submitted(&s, &new).await;

    let p1 = s.list_lines(&t, &new.id, &PageRequest::first(2)).await.unwrap().unwrap();
    let p2 = s.list_lines(&t, &new.id, &next(&p1, 2)).await.unwrap().unwrap();
    let p3 = s.list_lines(&t, &new.id, &next(&p2, 2)).await.unwrap().unwrap();
    let numbers = |p: &provenance_store::Page<provenance_core::ChangedLine>| {
        p.items.iter().map(|l| l.line_number).collect::<Vec<_>>()
    };
    assert_eq!((numbers(&p1), numbers(&p2), numbers(&p3)), (vec![1, 2], vec![3, 4], vec![5]));
    assert!(p1.next_cursor.is_some() && p2.next_cursor.is_some());
    assert_eq!(p3.next_cursor, None);
}

async fn a_page_that_ends_exactly_at_the_last_line_has_no_cursor(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 4);
    submitted(&s, &new).await;
    let p1 = s.list_lines(&t, &new.id, &PageRequest::first(2)).await.unwrap().unwrap();
    let p2 = s.list_lines(&t, &new.id, &next(&p1, 2)).await.unwrap().unwrap();
    assert_eq!(p2.items.len(), 2);
    assert_eq!(p2.next_cursor, None);
}

async fn a_cursor_the_store_never_issued_reads_as_an_empty_page(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 3);
    submitted(&s, &new).await;
    let page = PageRequest::from_query(Some(10), Some(&encode_cursor("not-a-number"))).unwrap();
    let p = s.list_lines(&t, &new.id, &page).await.unwrap().unwrap();
    assert!(p.items.is_empty() && p.next_cursor.is_none());
}

async fn analyses_are_listed_newest_first_across_pages(s: TestStore) {
    let t = tenant(&s).await;
    let mut ids = Vec::new();
    for pr in 1..=5 {
        ids.push(submitted(&s, &new_analysis(&t, pr, "def456", 1)).await.id);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    ids.reverse();

    let f = AnalysisFilter::default();
    let p1 = s.list_analyses(&t, &f, &PageRequest::first(2)).await.unwrap();
    let p2 = s.list_analyses(&t, &f, &next(&p1, 2)).await.unwrap();
    let p3 = s.list_analyses(&t, &f, &next(&p2, 2)).await.unwrap();
    let listed: Vec<_> = [p1, p2, p3.clone()].into_iter().flat_map(|p| p.items).map(|a| a.id).collect();
    assert_eq!(listed, ids);
    assert_eq!(p3.next_cursor, None);
}

async fn analyses_are_filtered_by_repo_pull_request_and_status(s: TestStore) {
    let t = tenant(&s).await;
    // Ids are ULIDs: only those made in different milliseconds sort in the order they were made.
    let tick = || tokio::time::sleep(std::time::Duration::from_millis(2));
    let on_7 = submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    tick().await;
    let on_8 = submitted(&s, &new_analysis(&t, 8, "def456", 1)).await;
    tick().await;
    let mut elsewhere = new_analysis(&t, 7, "def456", 1);
    elsewhere.repo = RepoName::parse("acme/web").unwrap();
    let elsewhere = submitted(&s, &elsewhere).await;
    let error = AnalysisError { code: "boom".into(), message: "it broke".into() };
    s.fail_analysis(&on_8.id, &error, Utc::now(), &[]).await.unwrap();

    let ids = |filter: AnalysisFilter| {
        let (s, t) = (&s, &t);
        async move {
            let p = s.list_analyses(t, &filter, &PageRequest::first(50)).await.unwrap();
            p.items.into_iter().map(|a| a.id).collect::<Vec<_>>()
        }
    };
    let shop = Some(RepoName::parse("acme/shop").unwrap());
    assert_eq!(
        ids(AnalysisFilter { repo: shop.clone(), ..Default::default() }).await,
        vec![on_8.id.clone(), on_7.id.clone()]
    );
    assert_eq!(ids(AnalysisFilter { repo: shop, pr_number: Some(7), status: None }).await, vec![on_7.id.clone()]);
    assert_eq!(ids(AnalysisFilter { pr_number: Some(7), ..Default::default() }).await, vec![elsewhere.id, on_7.id]);
    let failed = AnalysisFilter { status: Some(AnalysisStatus::Failed), ..Default::default() };
    assert_eq!(ids(failed).await, vec![on_8.id]);
}

async fn analyses_are_counted_by_status_across_tenants(s: TestStore) {
    let (a, b) = (tenant(&s).await, tenant(&s).await);
    submitted(&s, &new_analysis(&a, 1, "def456", 1)).await;
    submitted(&s, &new_analysis(&b, 1, "def456", 1)).await;
    let running = submitted(&s, &new_analysis(&b, 2, "def456", 1)).await;
    assert!(s.mark_running(&running.id, Utc::now()).await.unwrap());

    let counts = s.count_by_status().await.unwrap();
    assert!(counts.contains(&(AnalysisStatus::Queued, 2)), "{counts:?}");
    assert!(counts.contains(&(AnalysisStatus::Running, 1)), "{counts:?}");
    assert_eq!(counts.len(), 2);
}
