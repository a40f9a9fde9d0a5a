-- Which checkout client placed each order: it may read and cancel only its own.
alter table orders add column placed_by text not null default '';
