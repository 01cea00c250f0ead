-- A nasty old Oxnack database: everything the old schema (legacy_schema.sql) let in.
-- Load legacy_schema.sql first, then this file; `flask adopt-legacy` must keep every row.
-- Passwords (unsalted SHA-256, as the old code stored them):
--   anna@example.com     Passw0rd1    (id 1; id 2 'Anna@Example.com' is an unverified copy)
--   dup@example.com      Dup0ldPass   (id 3, verified, older activity)
--   dup@example.com      Dup2NewPass  (id 4, verified, latest transaction: logs in)
--   'DUP@example.com '   Dup3Spaced   (id 5, verified, no activity)
--   shared1@example.com  Shared111A   (id 8, username 'shared' kept)
--   shared2@example.com  Shared222B   (id 9, username 'shared' too: renamed)
--   nullflags@example.com Flags000N   (id 20, is_verified NULL: cannot log in until verified)
--   ff@example.com       Hexff000X    (id 16, username 'ff' = hex 255: new ids must skip it)
--   owner-f@example.com  Ownf000F     (id 15, username 'f' = its hex id: keeps 'f' over id 14)

INSERT INTO users (id, username, mail, passwd_hash, is_verified, cookie, tg_id, tg_username, balance, use,
                   date_start, date_stop, token, ref_id, sub, expires_at, name)
VALUES
  (1, '1', 'anna@example.com', '963ef1140e817de9c8597680a08c4a70aea11b67cf74a4716a1b05ad9a00d11a', TRUE,
      'a1b2c3legacycookieanna', NULL, NULL, 340, FALSE, '01.10.2025', '01.11.2025', NULL, NULL, FALSE, NULL, 'Anna'),
  (2, '2', 'Anna@Example.com', '963ef1140e817de9c8597680a08c4a70aea11b67cf74a4716a1b05ad9a00d11a', FALSE,
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, '3', 'dup@example.com', 'b0b540804fcd1c8bbc36f9435ebca40344d0c5139bb9d49efe806cb82cb5aa09', TRUE,
      'shared-legacy-cookie', NULL, NULL, 10, TRUE, '05.05.2024', '05.06.2024', 'tok', NULL, FALSE, NULL, NULL),
  (4, '4', 'dup@example.com', '826a13d6d28fe8f2c1097fad68b558451ef4300030a4ecb2918e41427a4bce88', TRUE,
      'shared-legacy-cookie', NULL, NULL, 20, FALSE, '31.02.2025', 'garbage', NULL, NULL, TRUE, 'never', NULL),
  (5, '5', 'DUP@example.com ', 'b90a2b583a7e4981d57cd030095fc97df69c3bd1c870063c96570e04c2647ab8', TRUE,
      NULL, NULL, NULL, 0, FALSE, '', '', NULL, NULL, FALSE, '', ''),
  (6, NULL, NULL, NULL, FALSE, NULL, 5176418706, 'oxnack_admin', NULL, FALSE, '12.09.2025', '12.10.2025',
      NULL, 777, TRUE, NULL, 'Телеграм'),
  (7, NULL, NULL, NULL, NULL, NULL, 777, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (8, 'shared', 'shared1@example.com', '58bb6bec8b65cb5ac375b87da43e443bb6bb924d2b46a3480db552fc6609e774', TRUE,
      NULL, NULL, NULL, 5, FALSE, NULL, NULL, NULL, NULL, FALSE, NULL, NULL),
  (9, 'shared', 'shared2@example.com', '5ad3e390ca3ff4a24eca5823af3444123fc18fd7795539664d4a9db5287a30d9', TRUE,
      NULL, NULL, NULL, 7, FALSE, NULL, NULL, NULL, NULL, FALSE, NULL, NULL),
  (14, 'f', 'fourteen@example.com', NULL, TRUE, NULL, NULL, NULL, 0, FALSE, NULL, NULL, NULL, NULL, FALSE, NULL, NULL),
  (15, 'f', 'owner-f@example.com', '35151cd05cbaa3b5e1a4e591b835318ab5deb469af85f1a00a028637f3ede69d', TRUE,
      NULL, NULL, NULL, 0, FALSE, NULL, NULL, NULL, NULL, FALSE, NULL, NULL),
  (16, 'ff', 'ff@example.com', '22f66b127e51a90b447db514f7727d1916456ec786e8ebd8fbc9256113fa6c0a', TRUE,
      NULL, NULL, NULL, 0, FALSE, NULL, NULL, NULL, NULL, FALSE, NULL, NULL),
  (17, '', '', '', FALSE, '', NULL, '', 0, FALSE, '', '', '', NULL, FALSE, '', ''),
  (18, '12', 'o''brien+"quoted"@example.com', 'not-a-hash', TRUE, NULL, NULL, NULL, -5, FALSE, NULL, NULL,
      NULL, NULL, FALSE, NULL, 'Ünïcødé 名前 <b>bold</b> 100%'),
  (19, '13', 'émile@exämple.com', NULL, TRUE, NULL, NULL, NULL, 2147483647, FALSE, NULL, NULL, NULL, NULL, FALSE,
      NULL, NULL),
  (20, '14', 'nullflags@example.com', 'accdc50f7e2c5d29e109c7f6ee9937a821c740b42cda2eddc42b9c91e17b080d', NULL,
      NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (21, '15', '', NULL, FALSE, NULL, NULL, NULL, 0, FALSE, NULL, NULL, NULL, NULL, FALSE, NULL, NULL),
  (22, NULL, NULL, NULL, FALSE, NULL, 777, 'same_tg_again', 3, FALSE, NULL, NULL, NULL, NULL, FALSE, NULL, NULL);
-- The old code inserted explicit ids: the sequence lags behind them.
SELECT setval('users_id_seq', 5);

INSERT INTO servers (id, ram, cores, hdd, ips, lan_ip, os, status, passwd, mac, name, discription, busy, username)
VALUES
  (105, 2, 2, 20, ARRAY['203.0.113.10'], '192.168.2.105', 'ubuntu', 'on', 'Xy7!pass01', '52:54:00:AB:CD:01', '105-1',
       'promocode: START10', TRUE, '1'),
  (106, 1, 1, 15, NULL, NULL, 'ubuntu', 'off', NULL, NULL, NULL, NULL, FALSE, NULL),
  (107, 1, 1, 15, '{}', '', 'centos6', 'off', '', '', '', '', FALSE, ''),
  (108, 1, 1, 15, ARRAY['203.0.113.18'], '192.168.2.108', 'debian', 'on', 'pw', NULL, '108-shared', NULL, TRUE,
       'shared'),
  (109, 1, 1, 15, ARRAY['203.0.113.10'], '192.168.2.105', 'ubuntu', 'off', NULL, NULL, NULL, NULL, FALSE, NULL),
  (110, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (111, 1, 1, 15, ARRAY['203.0.113.19'], '192.168.2.111', 'ubuntu', 'on', NULL, NULL, NULL, NULL, TRUE, 'nobody'),
  (112, 1, 1, 15, ARRAY[' 203.0.113.30 ', '203.0.113.30'], '192.168.2.112', 'Ubuntu', 'weird', NULL, NULL, NULL,
       'promocode: 50% off ''quoted''', FALSE, NULL),
  (113, 4, 4, 80, ARRAY['203.0.113.31'], '192.168.2.113', 'windows2003', 'off', NULL, NULL, NULL, NULL, TRUE, 'f'),
  (114, 1, 1, 15, ARRAY['203.0.113.40', NULL], '192.168.2.114', 'debian', 'off', NULL, NULL, NULL, NULL, FALSE, NULL);

INSERT INTO transactions (id, username, tg_id, type, amount, date, discription, status, transaction_id)
VALUES
  (1, '1', NULL, 'add_balance', 500, '01.10.2025', 'Platega SBP', 'CONFIRMED', '7f1c2a9e-0001'),
  (2, '1', NULL, 'buy_server', -160, '01.10.2025', 'server 105', NULL, NULL),
  (3, NULL, 5176418706, 'add_balance', 150, '12.09.2025', 'bot top-up', 'CONFIRMED', '7f1c2a9e-0002'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (5, '3', NULL, 'add_balance', 10, '05.05.2024', 'old top-up', 'CONFIRMED', 'dup-tx'),
  (6, 'shared', NULL, 'add_balance', 100, '31.02.2025', 'impossible date', 'CONFIRMED', 'dup-tx'),
  (7, NULL, 777, 'add_balance', 3, '99.99.9999', 'tg id two users share', 'CONFIRMED', NULL),
  (8, 'ghost', NULL, 'add_balance', 50, 'yesterday', 'no such user', 'PENDING', NULL),
  (9, '4', NULL, 'add_balance', 20, '2025-10-01', 'ISO date', 'CONFIRMED', NULL),
  (10, 'f', NULL, '', 0, '', 'Пополнение 💸 ''quoted'' 100%', 'confirmed', ''),
  (11, '2', NULL, 'weird type', -2147483648, '00.00.0000', NULL, 'CANCELED', NULL);
SELECT setval('transactions_id_seq', 3);

INSERT INTO services (id, name_ru, description_ru, name_en, description_en, price_usd, price_rub, image_link, enabled)
VALUES
  (1, 'Телеграм-бот', 'Разработка бота', 'Telegram bot', 'Bot development', 50, 4500, 'https://img.example.com/a.jpg', TRUE),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, '<script>alert(1)</script>', '"quoted" & ''single''', 'Old', '100% off', -1, 0, '', FALSE);

INSERT INTO promocodes (promo, discount)
VALUES ('START10', 10), ('start10', 15), ('with space', 5), (' lead', NULL), ('ÜNI码', 15), ('quo''te"s', 20),
       ('100%', 100), ('50%_off', 50), ('', 0), ('NEG', -10), ('BIG', 1000), ('a/b', 5), ('back\slash', 2),
       ('semi;colon', 1), ('NOT', 30);
